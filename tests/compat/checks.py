"""The check harness the Python client suites share: `@check(name)` runs a function and records
PASS or FAIL with the error; `report(client)` prints one `PASS|FAIL <tab> check <tab> error` line
per check (what tests/it/compat.rs reads), a summary, and exits non-zero on a failure."""
import sys

results = []


def check(name):
    def wrap(f):
        try:
            f()
            results.append((name, None))
        except Exception as e:  # noqa: BLE001 - report every failure
            text = str(e).splitlines()[0][:300] if str(e) else ""
            results.append((name, f"{type(e).__name__}: {text}"))
        return f

    return wrap


def report(client):
    for name, error in results:
        print(f"{'PASS' if error is None else 'FAIL'}\t{name}\t{error or ''}")
    failed = [n for n, e in results if e]
    print(f"{client}: {len(results) - len(failed)}/{len(results)} passed")
    sys.exit(1 if failed else 0)
