"""Keep the CustomResourceDefinitions of a multi-document YAML stream on stdin.

Writes each one to DEST/<group>_<plural>.yaml, the layout controller-gen uses,
so every CRD directory under build/crds looks the same.
"""

import sys
from pathlib import Path

import yaml


def main(dest: str) -> int:
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for doc in yaml.safe_load_all(sys.stdin):
        if not doc or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc["spec"]
        name = f"{spec['group']}_{spec['names']['plural']}.yaml"
        (out / name).write_text(yaml.safe_dump(doc, sort_keys=False))
        written += 1
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
