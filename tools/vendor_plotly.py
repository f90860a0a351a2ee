"""Copy plotly.js from the pinned plotly wheel into the serving side's static files, gzipped.

Usage: python -m tools.vendor_plotly   (needs the training requirements installed: it reads plotly's
package_data). The chart page is served with no CDN, and the serving side must not depend on the 64 MB
plotly Python package for one 4.8 MB script, so the script travels with the code, compressed (1.5 MB).
"""

from __future__ import annotations

import gzip
from importlib import metadata, resources
from pathlib import Path

from cryptopredict.core.files import write_atomically

TARGET = Path(__file__).resolve().parent.parent / "cryptopredict" / "serving" / "static" / "vendor"


def main() -> int:
    source = resources.files("plotly") / "package_data" / "plotly.min.js"
    data = source.read_bytes()
    version = data[:200].decode().split("plotly.js v", 1)[1].split()[0]
    TARGET.mkdir(parents=True, exist_ok=True)
    target = TARGET / "plotly.min.js.gz"
    # mtime=0 keeps the file byte-for-byte reproducible
    write_atomically(target, gzip.compress(data, compresslevel=9, mtime=0))
    (TARGET / "PROVENANCE.md").write_text(
        f"`plotly.min.js.gz` is plotly.js v{version} (MIT licence), taken unchanged from the `plotly` "
        f"{metadata.version('plotly')} wheel on PyPI (`plotly/package_data/plotly.min.js`) and gzipped by "
        "`python -m tools.vendor_plotly`. A test checks it still matches the pinned wheel.\n"
    )
    print(f"plotly.js v{version}: {len(data):,} bytes -> {target.stat().st_size:,} gzipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
