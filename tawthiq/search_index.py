"""Glue between the archive and the search backends: which backend, live indexing while a
capture archives, and rebuilding an index from the WARC files alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from tawthiq.archivers.reader import iter_records
from tawthiq.archivers.writer import WrittenRecord
from tawthiq.index.backend import Backend, BackendMisconfigured, IndexUnavailable
from tawthiq.index.documents import IndexDoc, doc_from_post, doc_id, with_image_text
from tawthiq.index.elastic.client import ElasticConfig
from tawthiq.index.parallel import analysed
from tawthiq.settings import Settings

BACKENDS = ("tantivy", "elasticsearch")


def open_backend(settings: Settings, name: str | None = None, *, create: bool = True) -> Backend:
    name = name or settings.search_backend
    if name == "tantivy":
        from tawthiq.index.tantivy_backend import TantivyBackend

        return TantivyBackend(settings.index_dir / "tantivy", create=create)
    if name == "elasticsearch":
        from tawthiq.index.elastic_backend import ElasticsearchBackend

        return ElasticsearchBackend(elastic_config(settings), create=create)
    raise BackendMisconfigured(f"unknown search backend {name!r}; choose one of {', '.join(BACKENDS)}")


def elastic_config(settings: Settings) -> ElasticConfig:
    """How to reach Elasticsearch, from the settings (the URL also from ELASTICSEARCH_URL)."""
    url = settings.elasticsearch_url or os.environ.get("ELASTICSEARCH_URL", "")
    if not url:
        raise BackendMisconfigured("the elasticsearch backend needs elasticsearch_url (or ELASTICSEARCH_URL)")
    if settings.elasticsearch_ca_file and not Path(settings.elasticsearch_ca_file).is_file():
        raise BackendMisconfigured(f"elasticsearch_ca_file {settings.elasticsearch_ca_file!r} is not a file")
    return ElasticConfig(url=url, index=settings.elasticsearch_index, api_key=settings.elasticsearch_api_key,
                         username=settings.elasticsearch_username, password=settings.elasticsearch_password,
                         ca_file=settings.elasticsearch_ca_file, verify_certs=settings.elasticsearch_verify_certs,
                         timeout=settings.elasticsearch_timeout)


def cluster_key(media_sha256: str) -> str:
    """The index's cluster value for posts whose first photo or video is in a near-duplicate
    cluster (named by the sha256 of the cluster's first file)."""
    return f"media:{media_sha256}"


def text_cluster_key(cluster: str) -> str:
    """The index's cluster value for a post in a text near-duplicate cluster (issue 16; named by
    the hash of the cluster's first post's normalised text)."""
    return f"text:{cluster}"


def text_cluster_of(document: dict[str, Any] | None) -> str | None:
    """The index cluster a post metadata document's `text_dedupe` part puts it in, if any. A
    post whose photo or video is in a media cluster folds by that instead: its media decide
    (the caller gives the media cluster precedence), so one post is in one cluster."""
    near = (document or {}).get("text_dedupe") or {}
    return text_cluster_key(near["cluster"]) if near.get("cluster") else None


def post_doc(document: dict[str, Any] | None, captured: str) -> IndexDoc | None:
    """The index document for a post metadata record, or None when it is not a post or a
    keyword filter kept it out of search (it stays archived and catalogued)."""
    if not document or document.get("type") != "post":
        return None
    if not (document.get("filter") or {}).get("indexed", True):
        return None
    return doc_from_post(document["post"], captured, cluster=text_cluster_of(document))


class LiveIndexer:
    """An archive listener: posts become searchable as they are archived, committed in
    batches. An index that cannot be written never stops a capture: the failure is reported
    (the posts are archived and catalogued; `tawthiq reindex` adds them)."""

    def __init__(self, settings: Settings, on_error: Any, clusters_of: Any = None, image_texts_of: Any = None) -> None:
        self.settings = settings
        self.on_error = on_error
        self.clusters_of = clusters_of  # post URLs -> cluster, for media archived by earlier runs
        self.image_texts_of = image_texts_of  # post URLs -> their images' text, from earlier runs
        self.pending: list[IndexDoc] = []
        self.clusters: dict[str, str] = {}  # post URL -> cluster, from this run's media records
        self.flushed: dict[str, IndexDoc] = {}  # post URL -> document sent this run without a cluster
        self.sent: dict[str, IndexDoc] = {}  # post URL -> the document last sent this run
        self.images: dict[str, list[str]] = {}  # post URL -> sha256 of its images (this run's media records)
        self.texts: dict[str, str] = {}  # image sha256 -> its text (this run's "ocr" records)
        self.backend: Backend | None = None
        self.failed = 0
        self.indexed = 0

    def _open(self) -> Backend:
        """The backend; an archive that has WARC files but no embedded index yet (made before
        search existed, or the index was deleted) gets its index built from them first."""
        fresh = self.settings.search_backend == "tantivy" and not (self.settings.index_dir / "tantivy" / "current").exists()
        backend = open_backend(self.settings)
        if fresh:
            files = archive_files(self.settings.warcs_dir)
            if files:
                rebuild(backend, files, workers=1)
        return backend

    def records_written(self, written: list[WrittenRecord]) -> None:
        for w in written:
            p = w.pending
            if p.rec_type == "metadata" and p.info.get("kind") == "post":
                doc = post_doc(p.info.get("document"), p.date)
                if doc is not None:
                    self.pending.append(doc)
            elif p.rec_type == "metadata" and p.info.get("kind") == "media":
                self._media_cluster(p.info.get("document") or {})
                self._media_image(p.info.get("document") or {})
            elif p.rec_type == "metadata" and p.info.get("kind") == "ocr":
                self._image_text(p.info.get("document") or {})
        if len(self.pending) >= self.settings.index_batch:
            self.flush()

    def file_opened(self, name: str) -> None:
        pass

    def file_sealed(self, sealed: Any) -> None:
        pass

    def _media_cluster(self, document: dict[str, Any]) -> None:
        """A photo or video joined a cluster: its post folds with its copies. A post indexed
        before its media arrived is sent again with the cluster."""
        url, near = document.get("post_url"), document.get("dedupe") or {}
        if not url or not near.get("cluster") or url in self.clusters:
            return
        self.clusters[url] = cluster_key(near["cluster"])
        sent = self.flushed.get(url)
        if sent is not None and sent.cluster != self.clusters[url]:
            self.pending.append(replace(sent, cluster=self.clusters[url]))

    def _media_image(self, document: dict[str, Any]) -> None:
        url, sha = document.get("post_url"), (document.get("facts") or {}).get("sha256")
        if url and sha and str((document.get("facts") or {}).get("mime", "")).startswith("image/"):
            shas = self.images.setdefault(url, [])
            if sha not in shas:
                shas.append(sha)
                if url in self.sent:  # its text (read by this run or an earlier one) joins the post
                    self.pending.append(self.sent[url])

    def _image_text(self, document: dict[str, Any]) -> None:
        """An image was read: the posts of this run that carry it are sent again with its text."""
        sha = document.get("sha256")
        if not sha:
            return
        self.texts[sha] = searchable_image_text(document)
        for url, shas in self.images.items():
            sent = self.sent.get(url)
            if sha in shas and sent is not None:
                self.pending.append(self._with_texts(sent))

    def _with_texts(self, doc: IndexDoc) -> IndexDoc:
        shas = self.images.get(doc.url, [])
        text = "\n\n".join(t for t in (self.texts.get(s, "") for s in shas) if t)
        return with_image_text(doc, text) if text or doc.image_text else doc

    def _set_image_texts(self, batch: list[IndexDoc]) -> list[IndexDoc]:
        """Image text for each document: this run's OCR records, then earlier runs' (catalog)."""
        unknown = [d.url for d in batch if d.url and any(s not in self.texts for s in self.images.get(d.url, []))
                   or d.url not in self.images]
        if unknown and self.image_texts_of is not None:
            try:
                for url, (shas, texts) in self.image_texts_of(unknown).items():
                    mine = self.images.setdefault(url, [])
                    mine += [s for s in shas if s not in mine]
                    for sha, text in texts.items():
                        self.texts.setdefault(sha, text)
            except Exception as exc:  # noqa: BLE001 - the post is still indexed, without image text
                self.on_error(f"search index: image text not read ({exc})")
        return [self._with_texts(d) for d in batch]

    def _set_clusters(self, batch: list[IndexDoc]) -> list[IndexDoc]:
        missing = [d.url for d in batch if d.url and d.url not in self.clusters]
        if missing and self.clusters_of is not None:
            try:
                self.clusters.update({u: cluster_key(c) for u, c in self.clusters_of(missing).items()})
            except Exception as exc:  # noqa: BLE001 - the post is still indexed, unfolded
                self.on_error(f"search index: near-duplicate clusters not read ({exc})")
        out = [replace(d, cluster=self.clusters[d.url]) if d.url in self.clusters else d for d in batch]
        # only a post not yet in a media cluster (alone, or in a text cluster) may need sending
        # again, when its photo's cluster arrives
        self.flushed.update({d.url: d for d in out if d.url and d.url not in self.clusters})
        return out

    def flush(self) -> None:
        if not self.pending:
            return
        latest = {d.id: d for d in self.pending}  # a post sent again in one batch: its last state
        batch, self.pending = self._set_image_texts(self._set_clusters(list(latest.values()))), []
        self.sent.update({d.url: d for d in batch if d.url})
        try:
            if self.backend is None:
                self.backend = self._open()
            self.indexed += self.backend.upsert(batch)
        except Exception as exc:  # noqa: BLE001 - reported, never fatal to a capture
            self.failed += len(batch)
            self.on_error(f"search index: {len(batch)} post(s) not indexed ({exc}); run `tawthiq reindex`")

    def close(self) -> None:
        self.flush()
        if self.backend is None and not self.failed:
            try:  # a capture with no posts still leaves an index, so search can answer
                self.backend = self._open()
            except Exception as exc:  # noqa: BLE001
                self.on_error(f"search index: cannot be opened ({exc})")
        if self.backend is not None:
            self.backend.close()
            self.backend = None


def searchable_image_text(ocr: dict[str, Any]) -> str:
    """What search holds of an "ocr" record: the text of both passes (none unless it read text)."""
    if ocr.get("status") != "text":
        return ""
    return "\n".join(t for t in (ocr.get("text") or "", ocr.get("extra_text") or "") if t)


def archive_files(warcs_dir: Path) -> list[Path]:
    """Every sealed WARC file of the archive, oldest first (names start with a timestamp)."""
    files = [p for p in warcs_dir.iterdir() if p.name.endswith((".warc.gz", ".warc")) and not p.name.startswith(".")
             ] if warcs_dir.exists() else []
    return sorted(files, key=lambda p: p.name)


def clusters_from_warcs(files: Iterable[Path]) -> dict[str, str]:
    """post URL -> index cluster, from the `dedupe` part of media metadata records (the first
    photo or video archived for a post decides; a revisit of the same bytes has its cluster)."""
    return media_from_warcs(files)[0]


def media_from_warcs(files: Iterable[Path]) -> tuple[dict[str, str], dict[str, str]]:
    """(post URL -> index cluster, post URL -> text read in its images), in one pass over the
    media and "ocr" metadata records. Clusters: the first photo or video archived for a post
    decides (a revisit of the same bytes has its cluster). Image text: the newest "ocr" record of
    each image file (by WARC-Date; `tawthiq ocr --redo` appends newer ones), the post's images
    in the order they were archived."""
    by_sha: dict[str, str] = {}
    first_media: dict[str, list[str]] = {}
    images: dict[str, list[str]] = {}
    texts: dict[str, tuple[str, str]] = {}  # sha256 -> (date, text)
    for path in files:
        for rec in iter_records(path):
            if rec.rec_type != "metadata" or not rec.document:
                continue
            doc = rec.document
            if rec.kind == "ocr" and doc.get("type") == "ocr" and doc.get("sha256"):
                if rec.date >= texts.get(doc["sha256"], ("", ""))[0]:
                    texts[doc["sha256"]] = (rec.date, searchable_image_text(doc))
                continue
            if rec.kind != "media":
                continue
            facts = doc.get("facts") or {}
            sha = facts.get("sha256")
            near = doc.get("dedupe") or {}
            if sha and near.get("cluster"):
                by_sha.setdefault(sha, near["cluster"])
            if sha and doc.get("post_url"):
                first_media.setdefault(doc["post_url"], []).append(sha)
                if str(facts.get("mime", "")).startswith("image/"):
                    shas = images.setdefault(doc["post_url"], [])
                    if sha not in shas:
                        shas.append(sha)
    clusters = {}
    for url, shas in first_media.items():
        found = next((by_sha[s] for s in shas if s in by_sha), None)
        if found:
            clusters[url] = cluster_key(found)
    image_texts = {url: "\n\n".join(t for t in (texts.get(s, ("", ""))[1] for s in shas) if t)
                   for url, shas in images.items()}
    return clusters, {url: text for url, text in image_texts.items() if text}


def posts_from_warcs(files: Iterable[Path], clusters: dict[str, str] | None = None
                     ) -> Iterator[tuple[dict[str, Any], str, str | None, str]]:
    """(post, capture date, cluster, its images' text) from the archive's metadata records,
    newest capture of each post last: an older capture met after a newer one is skipped, so
    replacing by id keeps the newest. Posts a keyword filter kept out of search are left out.
    The cluster is the media cluster of the post's first photo or video, else the text cluster
    in its own record."""
    files = list(files)
    found_clusters, image_texts = media_from_warcs(files)
    if clusters is None:
        clusters = found_clusters
    newest: dict[str, str] = {}
    for path in files:
        for rec in iter_records(path):
            if rec.rec_type != "metadata" or rec.kind != "post" or not rec.document:
                continue
            if rec.document.get("type") != "post":
                continue
            if not (rec.document.get("filter") or {}).get("indexed", True):
                continue
            post = rec.document["post"]
            key = doc_id(post["platform"], post["post_id"])
            if newest.get(key, "") > rec.date:
                continue
            newest[key] = rec.date
            url = post.get("url") or ""
            yield post, rec.date, clusters.get(url) or text_cluster_of(rec.document), image_texts.get(url, "")


def late_files(warcs_dir: Path, read: Iterable[Path]) -> list[Path]:
    """Files a rebuild has not read yet: sealed since its list was made, and those still being
    written (`NAME.open`; a record cut off at the end is left for the live writes)."""
    done = {p.name for p in read}
    if not warcs_dir.exists():
        return []
    sealed = [p for p in archive_files(warcs_dir) if p.name not in done]
    still_open = sorted((p for p in warcs_dir.iterdir() if p.name.endswith(".open") and not p.name.startswith(".")),
                        key=lambda p: p.name)
    return sealed + still_open


def _readable_posts(files: list[Path], clusters: dict[str, str]
                    ) -> Iterator[tuple[dict[str, Any], str, str | None, str]]:
    """posts_from_warcs over files that may be sealed (renamed) or still growing as they are read."""
    for path in files:
        try:
            yield from posts_from_warcs([path], clusters)
        except FileNotFoundError:  # sealed meanwhile: read it under its sealed name
            sealed = path.with_name(path.name.removesuffix(".open"))
            if sealed.exists():
                yield from posts_from_warcs([sealed], clusters)
        except Exception:  # noqa: BLE001 - a file still being written may end in half a record
            if not path.name.endswith(".open"):
                raise


def rebuild(backend: Backend, files: list[Path], *, workers: int | None = None) -> int:
    """A new index from `files`, swapped in whole. Captures may go on meanwhile: posts they
    write once the rebuild has begun reach the new index through the backend (written to both);
    posts written before it began, in files the list did not hold (sealed since, or still open),
    are read from those files before the swap, so no post of the old index is lost."""
    with backend.rebuild() as build:
        n = build.add_encoded(analysed(posts_from_warcs(files), build.encode, workers=workers))
        if files:
            late = late_files(files[0].parent, files)
            if late:
                clusters: dict[str, str] = {}
                for path in late:
                    try:
                        clusters.update(clusters_from_warcs([path]))
                    except Exception:  # noqa: BLE001 - as in _readable_posts
                        if not path.name.endswith(".open"):
                            raise
                n += build.add(doc_from_post(post, captured, cluster=cluster, image_text=image_text)
                               for post, captured, cluster, image_text in _readable_posts(late, clusters))
        return n


def catch_up(settings: Settings, files: list[Path]) -> int:
    """Index the posts of files sealed outside a capture (crash recovery): their batch may not
    have been committed before the crash. A failure here is not fatal; `tawthiq search` then
    notes the posts missing from the index and `tawthiq reindex` adds them."""
    try:
        backend = open_backend(settings)
    except IndexUnavailable:
        return 0
    try:
        return backend.upsert(doc_from_post(post, captured, cluster=cluster, image_text=image_text)
                              for post, captured, cluster, image_text in posts_from_warcs(files))
    except Exception:  # noqa: BLE001 - see the docstring
        return 0
    finally:
        backend.close()
