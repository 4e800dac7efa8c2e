"""sources.yaml as archivists keep it: edited by hand (comments, their own layout, sometimes
the wrong encoding) and changed by the CLI and the web app at the same time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, run_tawthiq

HAND_WRITTEN = """\
# Sources for the Mithal case: reviewed by the legal team on 2026-11-02.
sources:
  # the witness channel: every half hour during the offensive
  - name: mithal
    spec: telegram:mithal_witness
    every: 30m   # keep in step with the field team
  - name: news
    spec: feed:https://example.org/rss
    cron: "0 */6 * * *"
# end of list: add new sources above this line
"""


def test_a_file_in_another_encoding_is_named_in_one_line(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    path = data_dir / "sources.yaml"
    path.write_bytes("sources:\n  - name: مثال\n".encode("cp1256"))
    for args in (["sources", "list"], ["sources", "add", "x", "telegram:abc_def", "--every", "1h"]):
        result = run_tawthiq(args, data_dir=data_dir)
        assert result.code == 2 and "Traceback" not in result.out + result.err, result.err
        lines = [ln for ln in result.err.splitlines() if ln.strip()]
        assert len(lines) == 1 and str(path) in lines[0] and "not UTF-8" in lines[0], lines
    assert path.read_bytes() == "sources:\n  - name: مثال\n".encode("cp1256")  # left as it was


def test_changes_keep_the_comments_and_touch_only_their_source(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    path = data_dir / "sources.yaml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    assert run_tawthiq(["sources", "add", "third", "telegram:abc_def", "--every", "1h"], data_dir=data_dir).code == 0
    assert run_tawthiq(["sources", "pause", "mithal"], data_dir=data_dir).code == 0
    assert run_tawthiq(["sources", "remove", "news"], data_dir=data_dir).code == 0
    text = path.read_text(encoding="utf-8")
    for comment in ("# Sources for the Mithal case: reviewed by the legal team on 2026-11-02.",
                    "# the witness channel: every half hour during the offensive",
                    "every: 30m   # keep in step with the field team"):
        assert comment in text, text
    assert "news" not in text and "name: third" in text and "paused: true" in text
    listed = run_tawthiq(["sources", "list"], data_dir=data_dir)
    assert "mithal" in listed.out and "(paused)" in listed.out and "third" in listed.out
    assert run_tawthiq(["sources", "resume", "mithal"], data_dir=data_dir).code == 0
    assert "paused" not in path.read_text(encoding="utf-8")


ADDER = """\
import sys
from pathlib import Path
from tawthiq.sources import add_source, set_paused
home, prefix = Path(sys.argv[1]), sys.argv[2]
for i in range(int(sys.argv[3])):
    add_source(home, name=f"{prefix}{i}", spec="telegram:abc_def", every="1h")
    set_paused(home, f"{prefix}{i}", True)
"""


def test_two_writers_at_once_lose_nothing(data_dir: Path) -> None:
    """The CLI and the web app are separate processes changing one file: each change is read,
    edited and written under a lock, so neither overwrites the other's."""
    data_dir.mkdir(parents=True)
    (data_dir / "sources.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    n = 25
    procs = [subprocess.Popen([sys.executable, "-c", ADDER, str(data_dir), prefix, str(n)], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for prefix in ("cli", "web")]
    for proc in procs:
        _, errors = proc.communicate(timeout=300)
        assert proc.returncode == 0, errors
    from tawthiq.sources import load_sources

    names = {s.name for s in load_sources(data_dir).sources}
    assert names == {"mithal", "news"} | {f"{p}{i}" for p in ("cli", "web") for i in range(n)}
    assert all(s.paused for s in load_sources(data_dir).sources if s.name not in ("mithal", "news"))
    assert "# the witness channel" in (data_dir / "sources.yaml").read_text(encoding="utf-8")
