"""The forgery suite: what an adversary would do to a real export to make `tawthiq verify` vouch for
it, and a seeded mutation fuzzer. Every forgery recomputes whatever digests it can (record digests,
the custody manifest, the datapackage and its digest file), because any forger would.

One real capture of the demo channel and one export of each format (signed, time-stamped by a
local TSA) are made once for the module; the forgeries are rebuilt from them in-process.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tawthiq.archivers import signing
from tawthiq.archivers.verify import FAILED, UNPROVEN, VERIFIED, Report, verify_wacz, verify_warc
from tawthiq.archivers.timestamps import load_trusted, request_token
from tests.conftest import run_tawthiq
from tests.local_tsa import LocalTSA
from tawthiq.demo.server import LocalServer
from tawthiq.demo.site import install_demo_site

KEEP = "keep"  # a forger without the key keeps the old signatures (and updates the hash they claim)

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")


@dataclass
class Case:
    root: Path
    wacz: Path
    warc: Path
    fingerprint: str
    key: ec.EllipticCurvePrivateKey
    tsa: LocalTSA
    backdated: LocalTSA | None
    trusted: list[Any]


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Case]:
    root = tmp_path_factory.mktemp("forgery")
    data_dir = root / "data"
    server = LocalServer()
    channel = install_demo_site(server)
    tsa = LocalTSA()
    backdated = LocalTSA(backdate_days=400) if shutil.which("faketime") else None
    try:
        with server:
            env = {"TAWTHIQ_TELEGRAM_BASE_URL": server.base_url, "TAWTHIQ_TSA_URL": tsa.url}
            done = run_tawthiq(["capture", f"telegram:{channel.name}"], data_dir=data_dir, env=env)
            assert done.code == 0, done.out + done.err
        assert run_tawthiq(["keys", "create"], data_dir=data_dir).code == 0
        ids = f"{channel.name}/101,{channel.name}/102"
        for name, fmt in (("case.wacz", "wacz"), ("case.warc.gz", "warc")):
            done = run_tawthiq(["export", "--ids", ids, "--format", fmt, "-o", str(root / name)], data_dir=data_dir,
                               env=env)
            assert done.code == 0, done.out + done.err
        key = signing.load_key(data_dir)
        yield Case(root, root / "case.wacz", root / "case.warc.gz", signing.fingerprint(signing.public_key_b64(key)),
                   key, tsa, backdated, load_trusted([tsa.certificate_path]))
    finally:
        tsa.stop()
        if backdated:
            backdated.stop()


# -- forging tools ---------------------------------------------------------------------------------
def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_bundle(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def split_records(manifest: dict[str, Any], data: bytes) -> list[tuple[dict[str, Any], bytes]]:
    return [(dict(r), data[r["offset"] : r["offset"] + r["length"]]) for r in manifest["records"]]


def _digest_like(old: str, data: bytes) -> str:
    algo, _, value = old.partition(":")
    if algo.lower() == "sha1":
        return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()
    if len(value) == 64:
        return f"{algo}:" + hashlib.sha256(data).hexdigest()
    return f"{algo}:" + base64.b32encode(hashlib.sha256(data).digest()).decode()


def edit_record(member: bytes, edit: Callable[[bytes], bytes]) -> bytes:
    """Change a record's block and recompute Content-Length, block and payload digests: a record that
    passes every check of its own."""
    raw = gzip.decompress(member)
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    block = edit(rest[: int(fields["Content-Length"])])
    payload = block.partition(b"\r\n\r\n")[2] if "application/http" in fields.get("Content-Type", "") else block
    out = [lines[0]]
    for line in lines[1:]:
        name, value = line.split(": ", 1)
        if name == "Content-Length":
            value = str(len(block))
        elif name == "WARC-Block-Digest":
            value = _digest_like(value, block)
        elif name == "WARC-Payload-Digest":
            value = _digest_like(value, payload)
        out.append(f"{name}: {value}")
    return gzip.compress(("\r\n".join(out) + "\r\n\r\n").encode() + block + b"\r\n\r\n")


def _signature(key: ec.EllipticCurvePrivateKey, text: str, like: dict[str, Any]) -> dict[str, str]:
    """A signature by `key`, its unsigned claims copied from the genuine one `like` (as a forger would)."""
    return {"hash": text, "signature": signing.sign_text(key, text), "publicKey": signing.public_key_b64(key),
            "created": like["created"], "software": like["software"]}


def forge_wacz(src: Path, dst: Path, *, records: list[tuple[dict[str, Any], bytes]] | None = None,
               key: Any = KEEP, edit_manifest: Callable[[dict[str, Any]], None] | None = None,
               replace: dict[str, bytes | None] | None = None, recompute_manifest: bool = True) -> Path:
    """Rebuild a bundle after a change, recomputing every hash: the custody manifest's record list,
    its signature (kept, stripped or made with another key), the datapackage and its digest."""
    files = read_bundle(src)
    manifest = json.loads(files["custody/manifest.json"])
    if records is not None:
        files["archive/data.warc.gz"] = b"".join(member for _, member in records)
        if recompute_manifest:
            offset, fixed = 0, []
            for rec, member in records:
                fixed.append({**rec, "offset": offset, "length": len(member),
                              "sha256": hashlib.sha256(member).hexdigest()})
                offset += len(member)
            manifest["records"] = fixed
    if edit_manifest:
        edit_manifest(manifest)
    if records is not None or edit_manifest:
        files["custody/manifest.json"] = json.dumps(manifest, indent=1, sort_keys=True).encode()
    for name, content in (replace or {}).items():
        if content is None:
            files.pop(name, None)
        else:
            files[name] = content
    manifest_hash = _sha(files["custody/manifest.json"])
    if key is None:
        files.pop("custody/manifest.sig.json", None)
    elif key == KEEP:
        if "custody/manifest.sig.json" in files:
            sig = json.loads(files["custody/manifest.sig.json"])
            files["custody/manifest.sig.json"] = json.dumps({**sig, "hash": manifest_hash}).encode()
    else:
        files["custody/manifest.sig.json"] = json.dumps(_signature(key, manifest_hash, {
            "created": manifest["exported"], "software": manifest["software"]}), indent=1).encode()
    package = json.loads(files["datapackage.json"])
    package["resources"] = [{"name": Path(n).name, "path": n, "hash": _sha(c), "bytes": len(c)}
                            for n, c in files.items() if n not in ("datapackage.json", "datapackage-digest.json")]
    files["datapackage.json"] = json.dumps(package, indent=1).encode()
    digest = json.loads(files["datapackage-digest.json"])
    digest["hash"] = _sha(files["datapackage.json"])
    if key is None:
        digest.pop("signedData", None)
    elif key == KEEP:
        if "signedData" in digest:
            digest["signedData"]["hash"] = digest["hash"]
    else:
        digest["signedData"] = _signature(key, digest["hash"], package)
    files["datapackage-digest.json"] = json.dumps(digest, indent=1).encode()
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return dst


def _wacz_records(path: Path) -> list[tuple[dict[str, Any], bytes]]:
    files = read_bundle(path)
    return split_records(json.loads(files["custody/manifest.json"]), files["archive/data.warc.gz"])


def _largest_response(records: list[tuple[dict[str, Any], bytes]]) -> int:
    return max((i for i, (r, _) in enumerate(records) if r["type"] == "response"), key=lambda i: records[i][0]["length"])


def _defame(block: bytes) -> bytes:
    head, sep, body = block.partition(b"\r\n\r\n")
    return head + sep + body.replace(b"<body", b"<body data-forged='1'", 1) + b"<!-- forged -->"


def _assert(report: Report, verdict: str, *needles: str) -> None:
    text = "\n".join(report.problems + report.unproven + report.facts + report.summary())
    assert report.verdict == verdict, (report.verdict, text)
    for needle in needles:
        assert needle in text, (needle, text)


# -- the genuine article ---------------------------------------------------------------------------
def test_the_genuine_exports_verify_with_their_key_and_trusted_time(case: Case) -> None:
    report = verify_wacz(case.wacz, key_fingerprint=case.fingerprint, trusted=case.trusted)
    _assert(report, VERIFIED, "(the key you pinned)", "time proven by a trusted time-stamp authority")
    report = verify_warc(case.warc, key_fingerprint=case.fingerprint, trusted=case.trusted)
    _assert(report, VERIFIED, "(the key you pinned)", "time proven")
    # Without a pinned key: verified, but the verdict says who signed is not established.
    _assert(verify_wacz(case.wacz, trusted=case.trusted), VERIFIED, "NOT established")
    # Without trusting the TSA the token proves no time: intact but unproven.
    _assert(verify_wacz(case.wacz), UNPROVEN, "not anchored")
    cli = run_tawthiq(["verify", str(case.wacz), "--key-fingerprint", case.fingerprint,
                       "--tsa-cert", str(case.tsa.certificate_path)])
    assert cli.code == 0 and "VERIFIED" in cli.out, cli.out
    cli = run_tawthiq(["verify", str(case.wacz), "--key-fingerprint", "sha256:nothex"])
    assert cli.code == 2 and "is not a key fingerprint" in cli.err
    cli = run_tawthiq(["verify", str(case.wacz), "--tsa-cert", str(case.root / "nope.pem")])
    assert cli.code == 2 and "nope.pem" in cli.err and "Traceback" not in cli.err


# -- WACZ forgeries --------------------------------------------------------------------------------
def test_stripped_signatures_with_recomputed_hashes_are_unproven(case: Case, tmp_path: Path) -> None:
    bundle = forge_wacz(case.wacz, tmp_path / "stripped.wacz", key=None)
    _assert(verify_wacz(bundle, trusted=case.trusted), UNPROVEN, "is not signed")
    _assert(verify_wacz(bundle, key_fingerprint=case.fingerprint, trusted=case.trusted), FAILED,
            f"a signature by {case.fingerprint} was required")
    cli = run_tawthiq(["verify", str(bundle), "--tsa-cert", str(case.tsa.certificate_path)])
    assert cli.code == 3 and "INTACT BUT UNPROVEN" in cli.out and "anyone could have produced this" in cli.out
    cli = run_tawthiq(["verify", str(bundle), "--key-fingerprint", case.fingerprint])
    assert cli.code == 1 and "FAILED" in cli.out


def test_an_edited_record_with_every_hash_recomputed(case: Case, tmp_path: Path) -> None:
    records = _wacz_records(case.wacz)
    victim = _largest_response(records)
    records[victim] = (records[victim][0], edit_record(records[victim][1], _defame))
    # The forger keeps the signatures: they no longer cover the hashes.
    bundle = forge_wacz(case.wacz, tmp_path / "kept.wacz", records=records)
    _assert(verify_wacz(bundle, trusted=case.trusted), FAILED, "signature does not verify")
    # ... or signs with a key of their own: fails against the pinned key.
    other = ec.generate_private_key(signing.CURVE)
    bundle = forge_wacz(case.wacz, tmp_path / "resigned.wacz", records=records, key=other,
                        replace={"custody/manifest.json.tsr": None})
    _assert(verify_wacz(bundle, key_fingerprint=case.fingerprint), FAILED, f"not the expected {case.fingerprint}")
    # Unpinned, a re-signed bundle says whose key it is and that the signer is not established.
    report = verify_wacz(bundle)
    assert signing.fingerprint(signing.public_key_b64(other)) in "\n".join(report.summary())
    assert "NOT established" in "\n".join(report.summary())
    # ... or strips them: intact but unproven, never verified.
    _assert(verify_wacz(forge_wacz(case.wacz, tmp_path / "bare.wacz", records=records, key=None,
                                   replace={"custody/manifest.json.tsr": None})), UNPROVEN)


@pytest.mark.parametrize("how", ["removed", "reordered", "duplicated"])
def test_removed_reordered_duplicated_records(case: Case, tmp_path: Path, how: str) -> None:
    records = _wacz_records(case.wacz)
    if how == "removed":
        del records[3]
    elif how == "reordered":
        records[2], records[3] = records[3], records[2]
    else:
        records.insert(4, records[3])
    # The WARC changed but the signed manifest did not: the records no longer match it.
    bundle = forge_wacz(case.wacz, tmp_path / f"{how}.wacz", records=records, recompute_manifest=False)
    report = verify_wacz(bundle, trusted=case.trusted)
    _assert(report, FAILED, "custody manifest")
    # The manifest recomputed too: its signature no longer holds.
    bundle = forge_wacz(case.wacz, tmp_path / f"{how}-all.wacz", records=records)
    _assert(verify_wacz(bundle, trusted=case.trusted), FAILED, "signature does not verify")
    if how == "duplicated":
        # A manifest that lists the same record twice, all re-signed by another key.
        other = ec.generate_private_key(signing.CURVE)
        bundle = forge_wacz(case.wacz, tmp_path / "dup-signed.wacz", records=records, key=other,
                            replace={"custody/manifest.json.tsr": None})
        _assert(verify_wacz(bundle), FAILED, "is listed twice")


def test_an_edited_manifest_or_pages(case: Case, tmp_path: Path) -> None:
    def retarget(manifest: dict[str, Any]) -> None:
        manifest["items"][0]["url"] = "https://example.org/not-what-was-captured"

    _assert(verify_wacz(forge_wacz(case.wacz, tmp_path / "m.wacz", edit_manifest=retarget)), FAILED)
    pages = read_bundle(case.wacz)["pages/pages.jsonl"].replace(b'"title": "', b'"title": "FORGED ', 1)
    _assert(verify_wacz(forge_wacz(case.wacz, tmp_path / "p.wacz", replace={"pages/pages.jsonl": pages})), FAILED,
            "signature does not verify")
    # A member added to the zip, not listed: fails even with everything else untouched.
    files = read_bundle(case.wacz)
    with zipfile.ZipFile(tmp_path / "extra.wacz", "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
        zf.writestr("archive/more.warc.gz", gzip.compress(b"WARC/1.1\r\n\r\n"))
    _assert(verify_wacz(tmp_path / "extra.wacz"), FAILED, "not listed in datapackage.json")
    # The same member twice in the zip: readers would disagree on which one counts.
    with zipfile.ZipFile(tmp_path / "twice.wacz", "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
        zf.writestr("pages/pages.jsonl", pages)
    _assert(verify_wacz(tmp_path / "twice.wacz"), FAILED, "appears more than once")


def test_a_swapped_public_key(case: Case, tmp_path: Path) -> None:
    other = ec.generate_private_key(signing.CURVE)
    files = read_bundle(case.wacz)
    digest = json.loads(files["datapackage-digest.json"])
    digest["signedData"]["publicKey"] = signing.public_key_b64(other)  # the signature stays the original's
    bundle = forge_wacz(case.wacz, tmp_path / "swapped.wacz",
                        replace={"datapackage-digest.json": json.dumps(digest).encode()})
    # forge_wacz keeps signatures, so the datapackage's signature is checked against the swapped key
    _assert(verify_wacz(bundle, trusted=case.trusted), FAILED, "signature does not verify")
    # Only one of the two signatures re-made by another key: the bundle is not by one signer.
    files = read_bundle(case.wacz)
    sig = _signature(other, _sha(files["custody/manifest.json"]), json.loads(files["custody/manifest.sig.json"]))
    bundle = forge_wacz(case.wacz, tmp_path / "half.wacz", replace={"custody/manifest.sig.json": json.dumps(sig).encode()})
    digest = json.loads(read_bundle(bundle)["datapackage-digest.json"])
    assert digest["signedData"]["publicKey"] == signing.public_key_b64(case.key)
    _assert(verify_wacz(bundle), FAILED)


def test_a_back_dated_self_made_tsa_is_not_anchored(case: Case, tmp_path: Path) -> None:
    if case.backdated is None:
        pytest.skip("libfaketime (Debian package faketime) is not installed")
    files = read_bundle(case.wacz)
    token = request_token(case.backdated.url, hashlib.sha256(files["custody/manifest.json"]).digest())
    # Even the key's owner, re-signing with the back-dated token, cannot prove that time.
    bundle = forge_wacz(case.wacz, tmp_path / "backdated.wacz", key=case.key,
                        replace={"custody/manifest.json.tsr": token})
    report = verify_wacz(bundle, key_fingerprint=case.fingerprint, trusted=case.trusted)
    _assert(report, UNPROVEN, "not anchored", "is not among the trusted TSA certificates",
            "time of capture only claimed")
    # Trusting the self-made authority's certificate is the reader's choice, and then it counts.
    own = load_trusted([case.backdated.certificate_path])
    _assert(verify_wacz(bundle, key_fingerprint=case.fingerprint, trusted=own), VERIFIED, "time proven")
    # A token swapped in from the trusted TSA over different bytes does not verify at all.
    wrong = request_token(case.tsa.url, hashlib.sha256(b"something else").digest())
    bundle = forge_wacz(case.wacz, tmp_path / "wrong.wacz", key=case.key, replace={"custody/manifest.json.tsr": wrong})
    _assert(verify_wacz(bundle, trusted=case.trusted), FAILED, "time-stamp token does not verify")


# -- .warc.gz exports and their sidecars -----------------------------------------------------------
def _copy_warc(case: Case, dst: Path, *, keep: tuple[str, ...] = (".manifest.json", ".manifest.sig.json",
                                                                   ".manifest.json.tsr")) -> Path:
    shutil.copy(case.warc, dst)
    for suffix in keep:
        src = case.warc.with_name(case.warc.name + suffix)
        if src.exists():
            shutil.copy(src, dst.with_name(dst.name + suffix))
    return dst


def test_warc_export_sidecars(case: Case, tmp_path: Path) -> None:
    stripped = _copy_warc(case, tmp_path / "stripped.warc.gz", keep=(".manifest.json",))
    _assert(verify_warc(stripped), UNPROVEN, "is not signed")
    _assert(verify_warc(stripped, key_fingerprint=case.fingerprint), FAILED, "was required")
    bare = _copy_warc(case, tmp_path / "bare.warc.gz", keep=())
    _assert(verify_warc(bare), UNPROVEN, "no signed custody manifest")
    cli = run_tawthiq(["verify", str(bare), "--key-fingerprint", case.fingerprint])
    assert cli.code == 1 and "FAILED" in cli.out
    orphan = _copy_warc(case, tmp_path / "orphan.warc.gz", keep=(".manifest.sig.json",))
    _assert(verify_warc(orphan), FAILED, "missing, but its signature")

    manifest = json.loads(case.warc.with_name(case.warc.name + ".manifest.json").read_bytes())
    records = split_records(manifest, case.warc.read_bytes())
    victim = _largest_response(records)
    records[victim] = (records[victim][0], edit_record(records[victim][1], _defame))
    offset, fixed = 0, []
    for rec, member in records:
        fixed.append({**rec, "offset": offset, "length": len(member), "sha256": hashlib.sha256(member).hexdigest()})
        offset += len(member)
    manifest["records"] = fixed
    edited = _copy_warc(case, tmp_path / "edited.warc.gz")
    edited.write_bytes(b"".join(m for _, m in records))
    manifest_bytes = json.dumps(manifest).encode()
    edited.with_name(edited.name + ".manifest.json").write_bytes(manifest_bytes)
    sig_path = edited.with_name(edited.name + ".manifest.sig.json")
    sig = json.loads(sig_path.read_bytes())
    sig_path.write_bytes(json.dumps({**sig, "hash": _sha(manifest_bytes)}).encode())
    _assert(verify_warc(edited, trusted=case.trusted), FAILED, "signature does not verify")
    other = ec.generate_private_key(signing.CURVE)
    sig_path.write_bytes(json.dumps(_signature(other, _sha(manifest_bytes), sig)).encode())
    edited.with_name(edited.name + ".manifest.json.tsr").unlink(missing_ok=True)
    _assert(verify_warc(edited, key_fingerprint=case.fingerprint), FAILED, "not the expected")

    duplicated = _copy_warc(case, tmp_path / "dup.warc.gz")
    with open(duplicated, "ab") as fh:
        fh.write(records[1][1])
    _assert(verify_warc(duplicated, trusted=case.trusted), FAILED, "not listed in the custody manifest")
    reordered = _copy_warc(case, tmp_path / "reordered.warc.gz")
    original = split_records(json.loads(case.warc.with_name(case.warc.name + ".manifest.json").read_bytes()),
                             case.warc.read_bytes())
    original[1], original[2] = original[2], original[1]
    reordered.write_bytes(b"".join(m for _, m in original))
    _assert(verify_warc(reordered, trusted=case.trusted), FAILED, "custody manifest")


# -- the mutation fuzzer ---------------------------------------------------------------------------
def test_mutation_fuzzer(case: Case, tmp_path: Path) -> None:
    """1,200 seeded mutations of a real signed, time-stamped export: byte flips, truncations, zip
    member swaps. None may verify; every one must end in a verdict, never an exception."""
    rng = random.Random(13)
    original = case.wacz.read_bytes()
    files = read_bundle(case.wacz)
    names = list(files)
    target = tmp_path / "mutant.wacz"
    outcomes = {VERIFIED: 0, UNPROVEN: 0, FAILED: 0}
    crashes = []
    for i in range(1200):
        kind = i % 4
        if kind in (0, 1):  # flip 1-4 bytes anywhere
            data = bytearray(original)
            for _ in range(rng.randint(1, 4)):
                pos = rng.randrange(len(data))
                data[pos] ^= 1 << rng.randrange(8)
            target.write_bytes(bytes(data))
        elif kind == 2:  # truncate, or cut a slice out of the middle
            cut = rng.randrange(1, len(original))
            if rng.random() < 0.5:
                target.write_bytes(original[:cut])
            else:
                target.write_bytes(original[:cut] + original[cut + rng.randint(1, 4096):])
        else:  # swap the contents of two zip members (names kept)
            a, b = rng.sample(names, 2)
            swapped = {**files, a: files[b], b: files[a]}
            with zipfile.ZipFile(target, "w") as zf:
                for name in names:
                    zf.writestr(name, swapped[name])
        try:
            report = verify_wacz(target, key_fingerprint=case.fingerprint, trusted=case.trusted)
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            crashes.append(f"mutation {i}: {type(exc).__name__}: {exc}")
            continue
        outcomes[report.verdict] += 1
        if any("unreadable (" in p for p in report.problems):
            crashes.append(f"mutation {i}: only the catch-all caught it: {report.problems}")
        if report.verdict == VERIFIED:
            crashes.append(f"mutation {i} (kind {kind}) VERIFIED")
    assert not crashes, [c[:300] for c in crashes[:15]]
    assert outcomes[VERIFIED] == 0 and outcomes[FAILED] > 1000, outcomes


def test_mutation_fuzzer_on_a_warc_export(case: Case, tmp_path: Path) -> None:
    """300 seeded mutations of a `.warc.gz` export or one of its sidecars: none verifies."""
    rng = random.Random(1313)
    suffixes = ("", ".manifest.json", ".manifest.sig.json", ".manifest.json.tsr")
    originals = {sfx: case.warc.with_name(case.warc.name + sfx).read_bytes() for sfx in suffixes}
    target = tmp_path / "mutant.warc.gz"
    crashes = []
    for i in range(300):
        for sfx, content in originals.items():
            target.with_name(target.name + sfx).write_bytes(content)
        sfx = suffixes[0] if i % 2 == 0 else rng.choice(suffixes)
        data = bytearray(originals[sfx])
        if i % 3 == 2:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 4)):
                pos = rng.randrange(len(data))
                data[pos] ^= 1 << rng.randrange(8)
        target.with_name(target.name + sfx).write_bytes(bytes(data))
        try:
            report = verify_warc(target, key_fingerprint=case.fingerprint, trusted=case.trusted)
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            crashes.append(f"mutation {i}: {type(exc).__name__}: {exc}")
            continue
        if report.verdict == VERIFIED or any("unreadable (" in p for p in report.problems):
            crashes.append(f"mutation {i} of {sfx or 'the WARC'}: {report.verdict} {report.problems[:2]}")
    assert not crashes, [c[:300] for c in crashes[:15]]


# -- bombs -----------------------------------------------------------------------------------------
_PEAK = """
import sys
from pathlib import Path
from tawthiq.archivers.verify import verify_wacz
report = verify_wacz(Path(sys.argv[1]))
print(report.verdict)
print("\\n".join(report.problems[:3]))
# VmHWM, this process's own peak: getrusage(RUSAGE_SELF).ru_maxrss is carried across exec, so a child
# that subprocess started with vfork reports the peak of the (large, late in a suite) pytest process.
hwm = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
print("PEAK_KB", int(hwm.split()[1]))
"""


def _peak_mb(bundle: Path) -> tuple[float, str]:
    proc = subprocess.run([sys.executable, "-c", _PEAK, str(bundle)], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stderr
    kb = int(proc.stdout.rsplit("PEAK_KB", 1)[1])
    return kb / 1024, proc.stdout


def _gzip_bomb(size: int) -> bytes:
    import zlib

    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
    head = "WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 0\r\n\r\n\r\n\r\n".encode()
    out = [comp.compress(head)]
    zeros = bytes(1 << 20)
    for _ in range(size >> 20):
        out.append(comp.compress(zeros))
    out.append(comp.flush())
    return b"".join(out)


def test_bombs_inside_a_bundle_cost_no_memory(case: Case, tmp_path: Path) -> None:
    # 1 GB of zeros after a record's block in data.warc.gz (about 1 MB compressed).
    records = _wacz_records(case.wacz)
    records.append(({"record_id": "<urn:uuid:bomb>", "type": "resource", "uri": "bomb", "date": ""},
                    _gzip_bomb(1 << 30)))
    bomb = forge_wacz(case.wacz, tmp_path / "gzip-bomb.wacz", records=records, key=None)
    peak, out = _peak_mb(bomb)
    assert peak < 300 and FAILED in out and "bytes after the record's block" in out, (peak, out)
    # A zip bomb: a 1 GB datapackage.json, deflated to about 1 MB.
    with zipfile.ZipFile(tmp_path / "zip-bomb.wacz", "w", compresslevel=1) as zf:
        for name, content in read_bundle(case.wacz).items():
            if name == "datapackage.json":
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(info, "w", force_zip64=True) as dst:
                    for _ in range(1024):
                        dst.write(bytes(1 << 20))
            else:
                zf.writestr(name, content)
    peak, out = _peak_mb(tmp_path / "zip-bomb.wacz")
    # refused unread: for its compression, or first for the ZIP64 extra that zipfile's force_zip64
    # puts in the local header alone
    assert peak < 300 and FAILED in out and ("compressed inside the WACZ" in out or "extra field" in out), (peak, out)
