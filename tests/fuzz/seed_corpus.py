"""Write the hand-made seeds of ``tests/corpus`` (run again after changing them).

    python tests/fuzz/seed_corpus.py

Each file is a fuzz input: one selector byte (see ``target.split``), then the
body.  Inputs the fuzzers find are added next to these under ``found-*``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz.target import CORPUS, join

# media: 0 v2.1, 1 v2.0, 2 upper-case v2.1 with charset, 3 padded v2.0, 4 json-patch+json,
# 5 none, 6 v2.1 + NUL, 7 v2.1 with a KELVIN SIGN; rules: 0 IMS, 1 GLANCE, 2 GLANCE
# unlimited, 3 IMS unlimited; image: 0 sample, 1 queued odd, 2 empty, 3 hostile values.
SEEDS: dict[str, bytes] = {
    "dup-op-v21": join(b'[{"op":"add","op":"remove","path":"/name"}]'),
    "dup-op-v20": join(b'[{"add":"/a","add":"/b","value":"x"}]', media=1, rules=1),
    "dup-escaped-key": join(b'[{"op":"add","\\u006fp":"remove","path":"/k","value":"x"}]', rules=1),
    "dup-path": join(b'[{"op":"replace","path":"/name","path":"/id","value":"x"}]'),
    "bom": join(b'\xef\xbb\xbf[{"op":"replace","path":"/name","value":"x"}]'),
    "utf16": join('[{"op":"replace","path":"/name","value":"x"}]'.encode("utf-16")),
    "nan-in-remove-value": join(b'[{"op":"remove","path":"/k","value":NaN}]', rules=1),
    "infinity": join(b'[{"op":"add","path":"/min_ram","value":-Infinity}]', rules=1),
    "float-overflow": join(b'[{"op":"add","path":"/min_ram","value":1e400}]', rules=1),
    "huge-int": join(b'[{"op":"add","path":"/min_ram","value":' + b"9" * 4301 + b"}]", rules=1),
    "long-negative-int": join(
        b'[{"op":"replace","path":"/min_ram","value":-' + b"9" * 4300 + b"}]", rules=1
    ),
    "int32-overflow": join(b'[{"op":"replace","path":"/min_disk","value":2147483648}]', rules=1),
    "lone-surrogate-value": join(b'[{"op":"add","path":"/k","value":"\\ud800"}]', rules=1),
    "lone-surrogate-path": join(b'[{"op":"remove","path":"/\\udc00"}]'),
    "utf8-surrogate-bytes": join(b'[{"op":"add","path":"/k","value":"\xed\xa0\x80"}]'),
    "surrogate-pair": join(b'[{"op":"add","path":"/k","value":"\\ud83d\\ude00"}]', rules=1),
    "four-byte-name": join('[{"op":"add","path":"/k\U0001f600","value":"v"}]'.encode(), rules=1),
    "four-byte-tag": join('[{"op":"add","path":"/tags","value":["\U0001f600"]}]'.encode(), rules=1),
    "space-in-pointer": join(b'[{"op":"replace","path":"/ name ","value":"x"}]'),
    "nbsp-in-pointer": join(b'[{"op":"replace","path":"/\\u00a0name\\u3000","value":"x"}]'),
    "zwsp-in-pointer": join(b'[{"op":"add","path":"/\\u200bname","value":"x"}]'),
    "double-slash": join(b'[{"op":"replace","path":"//name","value":"x"}]'),
    "slash-space-slash": join(b'[{"op":"replace","path":"/a/ /b","value":"x"}]'),
    "only-slash": join(b'[{"op":"add","path":"/","value":"x"}]', rules=1),
    "tilde-escapes": join(b'[{"op":"add","path":"/~01~10","value":"x"}]', rules=1),
    "bad-tilde": join(b'[{"op":"add","path":"/a~2","value":"x"}]'),
    "escaped-slash": join(b'[{"op":"add","path":"\\/name","value":"x"}]'),
    "path-not-string": join(b'[{"op":"add","path":["/name"],"value":"x"}]'),
    "op-null": join(b'[{"op":null,"path":"/name","value":"x"}]'),
    "op-case": join(b'[{"op":"ADD","path":"/name","value":"x"}]'),
    "v21-shape-as-v20": join(b'[{"op":"add","path":"/name","value":"x"}]', media=1),
    "value-on-remove": join(b'[{"op":"remove","path":"/k","value":{"a":[1,2]}}]', image=1),
    "extra-members": join(b'[{"op":"add","path":"/k","value":"x","from":"/id","add":"/id"}]'),
    "v20-add-existing": join(b'[{"add":"/name","value":"x"}]', media=1, rules=1),
    "v20-add-existing-custom": join(b'[{"add":"/k","value":"x"}]', media=1, rules=1, image=1),
    "add-owner": join(b'[{"op":"add","path":"/owner","value":"me"}]', rules=1),
    "add-owner-admin": join(b'[{"op":"add","path":"/owner","value":"me"}]', rules=1, admin=True),
    "locations": join(b'[{"op":"add","path":"/locations/-","value":{"url":"x","metadata":{}}}]'),
    "os-glance": join(b'[{"op":"add","path":"/os_glance_import_task","value":"x"}]', rules=1),
    "control-char-name": join(b'[{"op":"remove","path":"/a\\nb\\u001b[2J"}]'),
    "control-char-op": join(b'[{"op":"add\\r\\n","path":"/a","value":"x"}]'),
    "empty": join(b""),
    "whitespace": join(b" \t\r\n "),
    "object": join(b'{"op":"add","path":"/k","value":"x"}'),
    "scalar": join(b"42"),
    "not-objects": join(b'[1,"x",null,[]]'),
    "trailing-garbage": join(b"[] []"),
    "deep-33": join(b'[{"op":"remove","path":"/k","value":' + b"[" * 31 + b"]" * 31 + b"}]"),
    "deep-5000": join(b"[" * 5000 + b"]" * 5000),
    "unclosed-deep": join(b'[{"a":' * 3000),
    "many-members": join(
        json.dumps([{"op": "remove", "path": "/k", **{f"m{i}": 0 for i in range(1001)}}]).encode()
    ),
    "media-upper": join(b'[{"op":"replace","path":"/name","value":"x"}]', media=2),
    "media-padded": join(b'[{"replace":"/name","value":"x"}]', media=3),
    "media-kelvin": join(b'[{"op":"replace","path":"/name","value":"x"}]', media=7),
    "media-nul": join(b'[{"op":"replace","path":"/name","value":"x"}]', media=6),
    "media-json-patch": join(b'[{"op":"replace","path":"/name","value":"x"}]', media=4),
    "hostile-image": join(b'[{"op":"replace","path":"/tags","value":["a"]}]', rules=1, image=3),
    "queued-formats": join(b'[{"add":"/disk_format","value":"raw"}]', media=1, rules=1, image=1),
    "new-keys-unlimited": join(
        json.dumps([{"op": "add", "path": f"/k{i}", "value": "v"} for i in range(300)]).encode(),
        rules=2,
    ),
    "quota": join(
        json.dumps([{"op": "add", "path": f"/k{i}", "value": "v"} for i in range(300)]).encode(),
        rules=1,
    ),
}


def main() -> int:
    CORPUS.mkdir(exist_ok=True)
    for name, data in SEEDS.items():
        (CORPUS / f"seed-{name}").write_bytes(data)
    print(f"wrote {len(SEEDS)} seeds to {CORPUS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
