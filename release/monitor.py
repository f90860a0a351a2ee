"""The drift monitor: print each pair's track-record verdict and exit 1 when any pair is degraded.

Usage: python3 -m release.monitor MANIFEST_OR_MODEL_DIR

Standard library only (a bare python3 in a CI step). The verdict is the one training wrote into each pair's record
(cryptopredict/core/track/drift.py: live band coverage and MAPE ratio over the newest points, against the rules
recorded with it). Exit status: 0 no pair degraded; 1 some pair degraded (the service keeps serving it); 2 the
artifact cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cryptopredict.core.artifact import ArtifactError, pair_files, read_verified_files
from cryptopredict.core.track import TrackRecord, format_summary, verdict_line

EXIT_DEGRADED = 1
EXIT_UNREADABLE = 2


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: monitor.py MANIFEST_OR_MODEL_DIR", file=sys.stderr)
        return EXIT_UNREADABLE
    path = Path(args[0])
    model_dir = path.parent if path.is_file() else path
    try:
        manifest, files = read_verified_files(model_dir)
        records = {}
        for symbol in manifest["pairs"]:
            name = pair_files(symbol).record
            if name not in files:
                raise ArtifactError(f"{model_dir / name} is missing: the artifact has no track record for {symbol}")
            try:
                records[symbol] = TrackRecord.from_json(files[name])
            except ValueError as exc:
                raise ArtifactError(f"{model_dir / name}: {exc}") from None
    except (ArtifactError, KeyError, TypeError) as exc:
        print(f"monitor: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    degraded = []
    for symbol, record in records.items():
        print(verdict_line(record.summary))
        print(format_summary(record.summary))
        if record.degraded:
            degraded.append(symbol)
    if degraded:
        print(f"monitor: degraded: {', '.join(degraded)} (the service keeps serving them)", file=sys.stderr)
        return EXIT_DEGRADED
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
