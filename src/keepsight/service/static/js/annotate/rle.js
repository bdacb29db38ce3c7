// pycocotools' compressed RLE (the mask geometry keepsight stores) decoded onto a canvas.
// The string holds column-major run lengths, alternating background and foreground, starting with
// background; each number is a signed, delta-coded (from the third on) varint of 5-bit chunks
// offset by 48 (pycocotools maskApi.c rleFrString). Arithmetic, not 32-bit bit operations, keeps
// large counts exact.

export function decodeCounts(text) {
  const counts = [];
  let p = 0;
  while (p < text.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      const c = text.charCodeAt(p) - 48;
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p += 1;
      k += 1;
      if (!more && (c & 0x10)) x -= 2 ** (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

// Paint the mask's pixels in `rgb` (opaque) on a fresh canvas of the mask's size; returns [canvas, area].
export function rleToCanvas(rle, rgb) {
  const [h, w] = rle.size;
  const counts = typeof rle.counts === "string" ? decodeCounts(rle.counts) : rle.counts;
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  const data = image.data;
  let index = 0;
  let area = 0;
  for (let i = 0; i < counts.length; i += 1) {
    const run = counts[i];
    if (i % 2 === 1) {
      for (let j = index; j < index + run; j += 1) {
        const y = j % h;
        const x = (j - y) / h;
        const o = (y * w + x) * 4;
        data[o] = rgb[0];
        data[o + 1] = rgb[1];
        data[o + 2] = rgb[2];
        data[o + 3] = 255;
      }
      area += run;
    }
    index += run;
  }
  ctx.putImageData(image, 0, 0);
  return [canvas, area];
}
