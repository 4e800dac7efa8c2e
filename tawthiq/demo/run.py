"""`make demo`: serve the synthetic site on 127.0.0.1 and capture all three kinds of source."""

from __future__ import annotations

import os
from pathlib import Path

from tawthiq.cli import capture_with_display, console
from tawthiq.demo.server import LocalServer
from tawthiq.demo.site import install_demo_site
from tawthiq.settings import load_settings
from tawthiq.specs import parse_spec


def run_demo(data_dir: Path, port: int = 0) -> int:
    server = LocalServer(port=port)
    channel = install_demo_site(server)
    with server:
        base = server.base_url
        console.print(f"demo site on {base} (synthetic: every name and event is invented)")
        os.environ["TAWTHIQ_TELEGRAM_BASE_URL"] = base
        settings = load_settings(data_dir)
        specs = [f"telegram:{channel.name}", f"feed:{base}/feed.xml", f"{base}/site/index.html",
                 f"video:{base}/site/witness-video.html"]
        console.print("$ tawthiq capture " + " ".join(specs), highlight=False)
        targets = [parse_spec(s, telegram_base_url=base) for s in specs]
        # The demo website links to a page that was deleted: its 404 is archived as evidence.
        code = capture_with_display(settings, targets, expected_failures={f"{base}/site/missing.html"})
    console.print(f"archive in {data_dir}/warcs; list it with: .venv/bin/tawthiq warcs --data-dir {data_dir}")
    return code
