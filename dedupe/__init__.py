"""Perceptual near-duplicates of images and videos (issue 9): pure functions over bytes plus two
in-memory indexes; no crawling, no WARC writing (tawthiq.near_duplicates connects it to the archive).

The data flow, one module each:
  images     bounded, draft-mode decoding to a small grayscale picture, border trimming, main picture
  hashes     pHash of nine views of it (whole, mirror, crops, quadrants, main picture)
  local      ORB features, RANSAC geometry, and the check of the aligned pixels that decides
  signature  what is kept per image (view hashes + spread ORB descriptors), as JSON
  hamming    exact Hamming-radius search (multi-index hashing)
  keypoints  shared-descriptor candidates (bit-sampling LSH, IDF-weighted votes)
  video      frame sampling with PyAV, frame hashes, vPDQ-style voting
  matcher    candidates -> verification -> cluster assignment
  scan       a folder on its own; explain: one pair, every measurement
"""
