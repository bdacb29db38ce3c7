"""The same-object engine: exact and near duplicates, region matches and object groups."""

from keepsight.similarity.api import Match, SimilarityResult, find_similar, similar_to
from keepsight.similarity.graph import Group, Pair, load_groups
from keepsight.similarity.verify import Verification, VerifyParams, verify

__all__ = [
    "Group",
    "Match",
    "Pair",
    "SimilarityResult",
    "Verification",
    "VerifyParams",
    "find_similar",
    "load_groups",
    "similar_to",
    "verify",
]
