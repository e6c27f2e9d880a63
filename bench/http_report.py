#!/usr/bin/env python3
"""The table of bench/http_bench.sh: http_report.py RESULTS [NOTES].

RESULTS has one line per timed case: PEER ROWS CONNS REQUESTS DURATION_US
P50_US P99_US HTTP_ERRORS SOCKET_ERRORS SERVER_CPU_US (wrk's counts;
HTTP_ERRORS are answers with a status of 400 or more; SERVER_CPU_US is the
CPU time of the server's processes and threads during the case)."""
import sys

LABEL = {
    "return200": "nginx return 200",
    "forest": "ngx_forest /predict",
    "forest_1tree": "ngx_forest, 1 tree",
    "forest_v2": "ngx_forest v2 infer",
    "flask": "Flask+gunicorn",
    "mlserver": "MLServer xgboost",
}
# goals of issue 3 for 1-row requests on 2 cores
GOAL_FLOOR_SHARE = 0.70
GOAL_P99_US = 2000
GOAL_FLASK_X = 15
GOAL_P50_GAP_US = 100


def load(path):
    res = {}
    with open(path) as f:
        for line in f:
            (p, rows, conns, n, dur, p50, p99, http_err, sock_err,
             cpu) = line.split()
            rps = int(n) / (int(dur) / 1e6)
            res[(p, int(rows), int(conns))] = dict(
                rps=rps, rows_s=rps * int(rows), p50=int(p50), p99=int(p99),
                http_err=int(http_err), sock_err=int(sock_err),
                cpu_share=int(cpu) / int(dur),
                cpu_per_req=int(cpu) / max(int(n), 1))
    return res


def ms(us):
    return f"{us / 1000:.3f}"


def ratio(res, a, b):
    if a in res and b in res and res[b]["rps"] > 0:
        return f"{res[a]['rps'] / res[b]['rps']:.2f}x"
    return "-"


def main():
    res = load(sys.argv[1])
    notes = open(sys.argv[2]).read().strip() if len(sys.argv) > 2 else ""
    cases = sorted({(r, c) for (_, r, c) in res}, key=lambda k: (k[1] > 1, k))
    peers = [p for p in LABEL if any(k[0] == p for k in res)]

    print(f"{'rows':>4} {'conns':>5}  {'server':<20} {'req/s':>9} {'rows/s':>10}"
          f" {'p50 ms':>8} {'p99 ms':>8} {'4xx/5xx':>7} {'sock err':>8}"
          f" {'srv CPU':>7} {'CPU us/req':>10}")
    for rows, conns in cases:
        for p in peers:
            r = res.get((p, rows, conns))
            if r is None:
                continue
            rows_s = "-" if p == "return200" else f"{r['rows_s']:.0f}"
            print(f"{rows:>4} {conns:>5}  {LABEL[p]:<20} {r['rps']:>9.0f}"
                  f" {rows_s:>10} {ms(r['p50']):>8} {ms(r['p99']):>8}"
                  f" {r['http_err']:>7} {r['sock_err']:>8}"
                  f" {r['cpu_share']:>7.0%} {r['cpu_per_req']:>10.1f}")
        print()

    print("ratios of requests/s (ngx_forest /predict, and v2 infer against "
          "MLServer, which speaks only V2):")
    print(f"{'rows':>4} {'conns':>5}  {'vs return 200':>13} {'vs Flask':>9}"
          f" {'vs MLServer':>11} {'v2 vs MLServer':>14} {'1 tree vs return 200':>20}")
    for rows, conns in cases:
        if conns == 1:
            continue
        f, v = ("forest", rows, conns), ("forest_v2", rows, conns)
        print(f"{rows:>4} {conns:>5}  "
              f"{ratio(res, f, ('return200', rows, conns)):>13}"
              f" {ratio(res, f, ('flask', rows, conns)):>9}"
              f" {ratio(res, f, ('mlserver', rows, conns)):>11}"
              f" {ratio(res, v, ('mlserver', rows, conns)):>14}"
              f" {ratio(res, ('forest_1tree', rows, conns), ('return200', rows, conns)):>20}")

    print("\ngoals (1-row requests):")
    f, floor = res.get(("forest", 1, 16)), res.get(("return200", 1, 16))
    if f and floor:
        share = f["rps"] / floor["rps"]
        ok = share >= GOAL_FLOOR_SHARE and f["p99"] < GOAL_P99_US
        print(f"  16 conns: {share:.0%} of return 200's req/s (goal >= "
              f"{GOAL_FLOOR_SHARE:.0%}), p99 {ms(f['p99'])} ms (goal < "
              f"{GOAL_P99_US / 1000:g} ms): {'met' if ok else 'MISSED'}")
    fl = res.get(("flask", 1, 16))
    if f and fl:
        x = f["rps"] / fl["rps"]
        print(f"  16 conns: {x:.1f}x Flask's req/s (goal about {GOAL_FLASK_X}x):"
              f" {'met' if x >= GOAL_FLASK_X else 'MISSED'}")
    f1, floor1 = res.get(("forest", 1, 1)), res.get(("return200", 1, 1))
    if f1 and floor1:
        gap = f1["p50"] - floor1["p50"]
        print(f"  1 conn: p50 {f1['p50']} us vs return 200's {floor1['p50']} us,"
              f" {gap:+d} us (goal within {GOAL_P50_GAP_US} us): "
              f"{'met' if gap <= GOAL_P50_GAP_US else 'MISSED'}")
    print("\nsrv CPU: the share of one core the server's processes used; "
          "CPU us/req: their CPU time per request")
    if notes:
        print("\nnotes:\n" + notes)


if __name__ == "__main__":
    main()
