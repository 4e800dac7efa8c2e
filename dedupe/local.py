"""Second opinion on a candidate pair: local features, geometry, then the pixels themselves.

Global hashes fail on exactly the edits reposters make (crops, small rotations, screenshots,
collages): shared/notes/dedupe.md. For a pair the hash index proposes, ORB keypoints (OpenCV)
are matched, a similarity transform (rotation, scale, shift; a mirror is tried as well) is fitted
with RANSAC, and then the claim is checked on the pixels: one image is warped onto the other and
the overlapping area is compared block by block. The last step is what keeps two bulletins made
from one template apart: their frames, logos and headers align perfectly, but the blocks holding
the portrait and the names disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

MIN_INLIERS = 12
# When does a crop become a different item? When the part two pictures share is a strip of one
# of them (it spans STRIP_SPAN of that picture one way and covers under MIN_CONTENT_SHARE of its
# area) AND holds under MIN_CONTENT_SHARE of that picture's content (its textured blocks: flat
# margins and bars do not count). A 45% strip of a photograph is a detail of it, not a copy; a
# crop removing 25% of each side keeps 56% of the picture and is still a copy (bench/dedupe's
# "harsh" tier); a picture inside a screenshot, a letterbox or a collage tile is not a strip of
# its container's content and still matches.
MIN_CONTENT_SHARE = 0.5
STRIP_SPAN = 0.9
MIN_COVERAGE = 0.55  # of the smaller image's area, inside the other image after alignment
MIN_AGREEMENT = 0.5  # share of informative blocks whose contents correlate
SMALL_PATCH = 2  # a solid region, in blocks a side, that does not correlate: a caption, a logo ...
MAX_PATCH = 4  # ... up to this, if little else disagrees; more means a different picture there
MAX_DISAGREEMENT = 0.2
MAX_TILT = 20.0  # degrees off a quarter turn
BLOCK_NCC = 0.5
GRID = 16  # blocks per side of the overlap


@dataclass(frozen=True)
class Features:
    points: np.ndarray  # N x 2 float32
    descriptors: np.ndarray | None  # N x 32 uint8
    shape: tuple[int, int]
    responses: np.ndarray | None = None  # keypoint strength, for choosing which to index


@dataclass(frozen=True)
class LocalVerdict:
    matched: bool
    inliers: int
    coverage: float
    agreement: float
    patch: int
    disagreement: float
    mirrored: bool
    scale: float
    angle: float

    def as_dict(self) -> dict[str, float | int | bool]:
        return {k: (round(float(v), 3) if isinstance(v, (float, np.floating)) else v) for k, v in self.__dict__.items()}


NO_MATCH = LocalVerdict(False, 0, 0.0, 0.0, GRID, 1.0, False, 0.0, 0.0)


@lru_cache(maxsize=1)
def _orb() -> cv2.ORB:
    return cv2.ORB_create(nfeatures=3000, scaleFactor=1.2, nlevels=8, edgeThreshold=15, patchSize=31,  # type: ignore[attr-defined]
                          fastThreshold=10)


def features(gray: np.ndarray) -> Features:
    image = gray
    if min(gray.shape) < 200:  # small tiles and thumbnails: give ORB's pyramid room
        factor = 200 / min(gray.shape)
        image = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
    else:
        factor = 1.0
    keypoints, descriptors = _orb().detectAndCompute(image, None)
    points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2) / factor
    responses = np.array([k.response for k in keypoints], dtype=np.float32)
    return Features(points, descriptors, gray.shape, responses)


Box = tuple[float, float, float, float]


def verify(a: np.ndarray, b: np.ndarray, fa: Features | None = None, fb: Features | None = None, *,
           main_a: Box | None = None, main_b: Box | None = None) -> LocalVerdict:
    """Do a and b (reduced grayscale images) show the same picture, possibly cropped, scaled,
    rotated, mirrored, or one inside the other? `main_a`/`main_b`: each one's main picture when
    other material frames it (dedupe.images.main_box), checked on its own as well."""
    fa = fa or features(a)
    fb = fb or features(b)
    best = _try(a, b, fa, fb, mirrored=False, main_a=main_a, main_b=main_b)
    if not best.matched:
        flipped = np.ascontiguousarray(b[:, ::-1])
        flipped_main = (1 - main_b[2], main_b[1], 1 - main_b[0], main_b[3]) if main_b else None
        other = _try(a, flipped, fa, features(flipped), mirrored=True, main_a=main_a, main_b=flipped_main)
        if other.matched or other.inliers > best.inliers:
            best = other
    return best


def quick_inliers(query: Features, descriptors: np.ndarray, points: np.ndarray) -> int:
    """How many of a stored item's indexed descriptors (with their positions) agree with the
    query under one similarity transform: a millisecond re-ranking of index candidates before
    any pixels are fetched. Not a verdict."""
    if query.descriptors is None or len(descriptors) < 4 or len(query.points) < 4:
        return 0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(descriptors, query.descriptors, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < 0.85 * m[1].distance]
    if len(good) < 4:
        return 0
    src = points[[m.queryIdx for m in good]].astype(np.float32)
    dst = query.points[[m.trainIdx for m in good]]
    cv2.setRNGSeed(0)  # RANSAC samples at random: the same pair must always get the same answer
    matrix, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=5.0)
    return int(mask.sum()) if matrix is not None else 0


def _try(a: np.ndarray, b: np.ndarray, fa: Features, fb: Features, *, mirrored: bool,
         main_a: Box | None = None, main_b: Box | None = None) -> LocalVerdict:
    if fa.descriptors is None or fb.descriptors is None or len(fa.points) < 8 or len(fb.points) < 8:
        return NO_MATCH
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(fb.descriptors, fa.descriptors, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
    if len(good) < MIN_INLIERS:
        return NO_MATCH
    src = fb.points[[m.queryIdx for m in good]]
    dst = fa.points[[m.trainIdx for m in good]]
    cv2.setRNGSeed(0)
    matrix, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=4.0,
                                               maxIters=4000, confidence=0.995)
    if matrix is None:
        return NO_MATCH
    inliers = int(mask.sum())
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    angle = float(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])))
    if inliers < MIN_INLIERS or not 0.15 < scale < 7.0 or not plausible_angle(angle):
        return LocalVerdict(False, inliers, 0.0, 0.0, GRID, 1.0, mirrored, scale, angle)
    al = check_aligned(a, b, matrix)
    matched = accept(al) and framed_pictures_agree(a, b, matrix, main_a, main_b) and \
        content_share(a, b, matrix) >= MIN_CONTENT_SHARE
    return LocalVerdict(matched, inliers, al.coverage, al.agreement, al.patch, al.disagreement, mirrored, scale,
                        angle)


def _share_inside(img: np.ndarray, inside: np.ndarray) -> float:
    """The share of `img`'s textured blocks (GRID x GRID) that lie inside the mask; 1.0 when the
    mask is not a strip of the picture (see MIN_CONTENT_SHARE)."""
    h, w = img.shape
    ys, xs = np.nonzero(inside)
    if not len(ys):
        return 0.0
    fx, fy = (xs.max() - xs.min() + 1) / w, (ys.max() - ys.min() + 1) / h
    if fx * fy >= MIN_CONTENT_SHARE or max(fx, fy) < STRIP_SPAN:
        return 1.0
    small = cv2.resize(img, (GRID * 8, GRID * 8), interpolation=cv2.INTER_AREA).astype(np.float32)
    blocks = small.reshape(GRID, 8, GRID, 8).std(axis=(1, 3))
    textured = blocks >= 6.0
    if textured.sum() < 8:
        return 1.0  # a nearly flat picture: nothing to tell by
    m = cv2.resize(inside.astype(np.uint8), (GRID, GRID), interpolation=cv2.INTER_AREA) > 0
    return float((textured & m).sum()) / float(textured.sum())


def content_share(a: np.ndarray, b: np.ndarray, matrix: np.ndarray) -> float:
    """The smaller of the two shares of content that the overlap holds (`matrix`: b pixels to a
    pixels), each measured on its own picture: see MIN_CONTENT_SHARE."""
    ha, wa = a.shape
    hb, wb = b.shape
    in_a = cv2.warpAffine(np.full(b.shape, 255, np.uint8), matrix, (wa, ha), flags=cv2.INTER_NEAREST) > 0
    inverse = cv2.invertAffineTransform(matrix)
    in_b = cv2.warpAffine(np.full(a.shape, 255, np.uint8), inverse, (wb, hb), flags=cv2.INTER_NEAREST) > 0
    return min(_share_inside(a, in_a), _share_inside(b, in_b))


def framed_pictures_agree(a: np.ndarray, b: np.ndarray, matrix: np.ndarray, main_a: Box | None,
                          main_b: Box | None) -> bool:
    """Two screenshots of one app (or two posters of one layout) agree on all their frame; what
    decides is the picture inside. Each side's main picture is checked again on its own: a solid
    region of it that does not agree (another photograph in the same place) refuses the match."""
    if main_a is not None:
        x0, y0, x1, y1 = _pixels(main_a, a.shape)
        shift = np.array([[1, 0, -x0], [0, 1, -y0]], dtype=np.float64)
        inner = np.ascontiguousarray(a[y0:y1, x0:x1])
        if min(inner.shape) >= 16 and check_aligned(inner, b, _compose(shift, matrix)).patch > MAX_PATCH:
            return False
    if main_b is not None:
        inverse = cv2.invertAffineTransform(matrix)
        return framed_pictures_agree(b, a, inverse, main_b, None)
    return True


def _pixels(box: Box, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    return int(box[0] * w), int(box[1] * h), max(int(box[0] * w) + 1, int(box[2] * w)), \
        max(int(box[1] * h) + 1, int(box[3] * h))


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """outer after inner, both 2x3 affine maps."""
    full = lambda m: np.vstack([m, [0, 0, 1]])  # noqa: E731
    return (full(outer) @ full(inner))[:2]


def plausible_angle(degrees: float) -> bool:
    """Reposts are turned a little (a photographed screen, a tilted scan) or by quarter turns (a
    lost orientation flag); a fit at 40 degrees between two pictures is a coincidence of corners."""
    off = abs(degrees) % 90.0
    return min(off, 90.0 - off) <= MAX_TILT


def accept(al: "Alignment") -> bool:
    """A small solid disagreement (a logo, a caption) is allowed only while little else disagrees."""
    if al.coverage < MIN_COVERAGE or al.agreement < MIN_AGREEMENT:
        return False
    return al.patch <= SMALL_PATCH or (al.patch <= MAX_PATCH and al.disagreement < MAX_DISAGREEMENT)


def view_matrix(a_shape: tuple[int, int], b_shape: tuple[int, int],
                box_a: tuple[float, float, float, float], box_b: tuple[float, float, float, float],
                *, mirrored: bool = False) -> np.ndarray:
    """The affine map from b's pixels to a's implied by two matching hash views: b's box (as
    fractions of b) shows what a's box shows; `mirrored` when one of them was flipped."""
    ha, wa = a_shape
    hb, wb = b_shape
    ax0, ay0, ax1, ay1 = box_a[0] * wa, box_a[1] * ha, box_a[2] * wa, box_a[3] * ha
    bx0, by0, bx1, by1 = box_b[0] * wb, box_b[1] * hb, box_b[2] * wb, box_b[3] * hb
    sx, sy = (ax1 - ax0) / max(1e-6, bx1 - bx0), (ay1 - ay0) / max(1e-6, by1 - by0)
    if mirrored:  # x in b's box runs the other way in a's box
        return np.array([[-sx, 0, ax1 + sx * bx0], [0, sy, ay0 - sy * by0]], dtype=np.float64)
    return np.array([[sx, 0, ax0 - sx * bx0], [0, sy, ay0 - sy * by0]], dtype=np.float64)


@dataclass(frozen=True)
class Alignment:
    coverage: float  # the overlap's share of the smaller picture
    agreement: float  # share of informative blocks whose contents correlate
    disagreement: float  # share that do not correlate at all
    patch: int  # side in blocks of the largest solid region that does not agree


def check_aligned(a: np.ndarray, b: np.ndarray, matrix: np.ndarray) -> Alignment:
    """Warp b onto a with `matrix` (b pixels -> a pixels) and compare what overlaps.

    Blur and half size forgive JPEG noise and a pixel or two of
    misalignment; the correlation forgives brightness and contrast changes."""
    h, w = a.shape
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    warped = cv2.warpAffine(b, matrix, (w, h), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR, borderValue=0)
    valid = cv2.warpAffine(np.full(b.shape, 255, np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST) > 0
    overlap = float(valid.sum())
    coverage = float(min(1.0, overlap / min(h * w, b.shape[0] * b.shape[1] * scale * scale)))
    if overlap < 256:
        return Alignment(coverage, 0.0, 1.0, GRID)
    # compare at the coarser picture's resolution: b enlarged onto a has no finer detail than b
    sigma = 2.0 * max(1.0, scale)
    pa = cv2.resize(cv2.GaussianBlur(a, (0, 0), sigma), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA).astype(np.float32)
    pb = cv2.resize(cv2.GaussianBlur(warped, (0, 0), sigma), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA).astype(np.float32)
    ok = cv2.resize(valid.astype(np.uint8), (pa.shape[1], pa.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    ys, xs = np.nonzero(ok)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    # brightness/contrast change: fit b to a over the overlap, so flat blocks can be compared too
    va, vb = pa[ok], pb[ok]
    gain = float(np.cov(va, vb)[0, 1] / max(1e-6, vb.var())) if vb.var() > 1 else 1.0
    gain = float(np.clip(gain, 0.3, 3.0))
    pb = (pb - vb.mean()) * gain + va.mean()
    bh, bw = max(3, (bottom - top) // GRID), max(3, (right - left) // GRID)
    rows, cols = (bottom - top) // bh, (right - left) // bw
    state = np.zeros((rows, cols), np.uint8)  # 0 outside, 1 agrees, 2 unsure, 3 disagrees, 4 both flat alike
    for i in range(rows):
        for j in range(cols):
            y, x = top + i * bh, left + j * bw
            if ok[y:y + bh, x:x + bw].mean() < 0.95:
                continue
            ba, bb = pa[y:y + bh, x:x + bw], pb[y:y + bh, x:x + bw]
            sa, sb = float(ba.std()), float(bb.std())
            if max(sa, sb) < 4:
                state[i, j] = 3 if abs(float(ba.mean()) - float(bb.mean())) > 30 else 4  # flat: same or not
            elif min(sa, sb) < 1.5:
                state[i, j] = 3  # detail on one side only
            else:
                ncc = float(((ba - ba.mean()) * (bb - bb.mean())).mean() / (sa * sb))
                state[i, j] = 1 if ncc >= BLOCK_NCC else (3 if ncc < 0.25 else 2)
    informative = int(np.isin(state, (1, 2, 3)).sum())
    if informative < 8 or not (state == 1).any():
        return Alignment(coverage, 0.0, 1.0, rows)
    # the shared picture: where the agreeing blocks lie. What disagrees outside it is content
    # placed next to the picture (a collage's other tiles, a screenshot's interface) and says
    # nothing against the match; coverage then counts the shared region only.
    ii, jj = np.nonzero((state == 1) | (state == 4))
    inside = state[ii.min():ii.max() + 1, jj.min():jj.max() + 1]
    shared = inside.size * (bh * bw * 4)  # half-size blocks, in a's pixels
    coverage = float(min(coverage, shared / min(h * w, b.shape[0] * b.shape[1] * scale * scale)))
    told = int(np.isin(inside, (1, 2, 3)).sum())
    return Alignment(coverage, float((inside == 1).sum()) / max(1, told), float((inside == 3).sum()) / max(1, told),
                     _largest_patch((inside == 3) | (inside == 2)))


def _largest_patch(disagree: np.ndarray) -> int:
    """The side, in blocks, of the largest compact region that disagrees. An added caption or
    watermark is a thin band or scattered; a different photo in the same frame is a solid patch."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(disagree.astype(np.uint8), connectivity=8)
    best = 0
    for k in range(1, count):
        w, h, area = stats[k, cv2.CC_STAT_WIDTH], stats[k, cv2.CC_STAT_HEIGHT], stats[k, cv2.CC_STAT_AREA]
        if area >= 0.5 * w * h:
            best = max(best, int(min(w, h)))
    return best
