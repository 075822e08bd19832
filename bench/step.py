"""`python -m bench.step MODULE FUNCTION JSON-ARGS`: run one measured step in this process and
print {"seconds", "peak_mb", ...} as the last line."""

import importlib
import json
import os
import sys
import time


def main() -> None:
    module, function, raw = sys.argv[1], sys.argv[2], sys.argv[3]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    import django

    django.setup()
    target = getattr(importlib.import_module(module), function)
    started = time.perf_counter()
    extra = target(**json.loads(raw)) or {}
    seconds = time.perf_counter() - started
    from bench.harness import peak_mb

    print(json.dumps({"seconds": seconds, "peak_mb": round(peak_mb(), 1), **extra}))


if __name__ == "__main__":
    main()
