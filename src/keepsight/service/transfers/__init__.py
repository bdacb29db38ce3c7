"""Moving files in and out: resumable checksummed uploads (tus 1.0) and signed export downloads."""
