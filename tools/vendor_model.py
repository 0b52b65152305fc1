#!/usr/bin/env python3
"""Vendor the botocore EC2 model into model/ec2/, stripped of every documentation string.

Only names, shapes, enums, constraints and wire names are kept: no prose from the model enters the
repository. Run it after bumping the pinned botocore version (see model/ec2/SOURCE.md), then run
`cargo run -p ec2-codegen` to regenerate the wire layer.
"""
import gzip
import hashlib
import json
import os
import sys

import botocore

DROP = {"documentation", "documentationUrl", "deprecatedMessage"}


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROP}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model", "ec2")
    src = os.path.join(os.path.dirname(botocore.__file__), "data", "ec2", "2016-11-15")
    raw = gzip.open(os.path.join(src, "service-2.json.gz")).read()
    model = strip(json.loads(raw))
    with open(os.path.join(root, "service-2.json"), "w") as f:
        json.dump(model, f, indent=1, sort_keys=False)
        f.write("\n")
    with open(os.path.join(root, "SOURCE.md"), "w") as f:
        f.write(
            "# Vendored EC2 model\n\n"
            f"- botocore version: {botocore.__version__}\n"
            "- file: `botocore/data/ec2/2016-11-15/service-2.json.gz`\n"
            f"- sha256 of the uncompressed original: `{hashlib.sha256(raw).hexdigest()}`\n"
            "- licence: Apache-2.0 (botocore)\n"
            "- transformation: `tools/vendor_model.py` removes every `documentation`, `documentationUrl`\n"
            "  and `deprecatedMessage` string; names, shapes, enums, constraints and wire names are kept.\n"
        )
    print(f"vendored botocore {botocore.__version__}: {len(model['operations'])} operations", file=sys.stderr)


if __name__ == "__main__":
    main()
