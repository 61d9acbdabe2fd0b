# bench/report.awk: turn the raw results of bench/run.sh into Markdown
#
# Input: tab-separated lines written by run.sh,
#   V <name> <value>     one measurement (one line per run of a variant)
#   M <name> <text>      a fact about the run (machine, versions, settings)
#   N <section> <text>   a message shown in place of, or under, a section
# Output: the report on stdout. Every figure is the median of its runs;
# ratios are taken between medians. Targets are checked at 16 clients.

BEGIN {
	FS = "\t"
	DASH = "—"
}

$1 == "V" {
	cnt[$2]++
	val[$2, cnt[$2]] = $3 + 0
	if (!($2 in seen)) {
		seen[$2] = 1
		order[++norder] = $2
	}
	next
}
$1 == "M" { meta[$2] = $3; next }
$1 == "N" {
	if ($2 in note)
		note[$2] = note[$2] "; " $3
	else
		note[$2] = $3
	next
}

# Median of the runs of name k, or "" if there are none
function med(k,    a, i, j, m, t) {
	if (!(k in cnt))
		return ""
	m = cnt[k]
	for (i = 1; i <= m; i++)
		a[i] = val[k, i]
	for (i = 2; i <= m; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}

# Integer with thousands separators, or a dash for a missing figure
function num(x,    s, out) {
	if (x == "")
		return DASH
	s = sprintf("%.0f", x)
	out = ""
	while (length(s) > 3) {
		out = "," substr(s, length(s) - 2) out
		s = substr(s, 1, length(s) - 3)
	}
	return s out
}

# Fixed-point number with d decimals, or a dash
function fix(x, d) {
	return (x == "") ? DASH : sprintf("%." d "f", x)
}

# a / b, or "" if either is missing
function ratio(a, b) {
	return (a == "" || b == "" || b == 0) ? "" : a / b
}

# "1.23x", or a dash
function rx(r) {
	return (r == "") ? DASH : sprintf("%.2fx", r)
}

# PASS or FAIL for x against a target: op is ">=" or "<="
function check(x, op, target) {
	if (x == "")
		return "n/a"
	if (op == ">=")
		return (x >= target) ? "PASS" : "FAIL"
	return (x <= target) ? "PASS" : "FAIL"
}

END {
	runs = meta["runs"]
	dur = meta["duration"]

	print "# kvcache benchmark"
	print ""
	print "- date: " meta["date"]
	print "- machine: " meta["arch"] ", " meta["cpu"] ", nproc " meta["nproc"]
	print "- PostgreSQL: " meta["pg"]
	print "- Redis: " (("redis" in meta) ? meta["redis"] : "not measured")
	print "- kvcache.max_memory: " meta["kv_max_memory"]
	print "- huge_pages: " meta["huge_pages"]
	print "- PostgreSQL clients connect through: " meta["connection"] " (Redis: TCP to 127.0.0.1)"
	print "- method: every figure is the median of " runs " run(s) of " dur " s; variants interleaved round-robin;" \
		" pgbench -M prepared -n -j 2 (1 thread at 1 client); redis-benchmark -r 100000 -d 32, -n sized for about " dur " s," \
		" no pipelining; single statements with jit = off, max_parallel_workers_per_gather = 0"
	print "- load average (1, 5, 15 min) at start: " meta["load_start"] "; at end: " meta["load_end"]
	if ("redis" in note)
		print "- Redis: " note["redis"]

	# ---------------------------------------------------------- strings
	print ""
	print "## Strings: throughput (transactions or requests per second)"
	print ""
	print "| workload | 1 client | 16 clients | 50 clients |"
	print "|---|---:|---:|---:|"
	print "| `SELECT 1` (protocol ceiling) | " num(med("pg.select1.c1")) " | " num(med("pg.select1.c16")) " | " DASH " |"
	print "| `kv.get('key:' \\|\\| :k)` | " num(med("pg.kv_get.c1")) " | " num(med("pg.kv_get.c16")) " | " DASH " |"
	print "| UNLOGGED PK lookup `SELECT v FROM ucache WHERE k = ...` | " num(med("pg.lookup.c1")) " | " num(med("pg.lookup.c16")) " | " DASH " |"
	print "| `kv.set(key, <32 bytes>)` | " num(med("pg.kv_set.c1")) " | " num(med("pg.kv_set.c16")) " | " DASH " |"
	print "| UNLOGGED upsert `INSERT ... ON CONFLICT (k) DO UPDATE` | " num(med("pg.upsert.c1")) " | " num(med("pg.upsert.c16")) " | " DASH " |"
	print "| Redis GET (redis-benchmark) | " DASH " | " num(med("redis.get.c16")) " | " num(med("redis.get.c50")) " |"
	print "| Redis SET (redis-benchmark) | " DASH " | " num(med("redis.set.c16")) " | " num(med("redis.set.c50")) " |"

	print ""
	print "| ratio | 1 client | 16 clients | target (16 clients) | result |"
	print "|---|---:|---:|---|---|"
	r1 = ratio(med("pg.kv_get.c1"), med("pg.lookup.c1"))
	r16 = ratio(med("pg.kv_get.c16"), med("pg.lookup.c16"))
	print "| kv.get / UNLOGGED lookup | " rx(r1) " | " rx(r16) " | >= 1.3x | " check(r16, ">=", 1.3) " |"
	r1 = ratio(med("pg.kv_get.c1"), med("pg.select1.c1"))
	r16 = ratio(med("pg.kv_get.c16"), med("pg.select1.c16"))
	print "| kv.get / SELECT 1 | " rx(r1) " | " rx(r16) " | >= 0.85x | " check(r16, ">=", 0.85) " |"
	r1 = ratio(med("pg.kv_set.c1"), med("pg.upsert.c1"))
	r16 = ratio(med("pg.kv_set.c16"), med("pg.upsert.c16"))
	print "| kv.set / UNLOGGED upsert | " rx(r1) " | " rx(r16) " | >= 1.8x | " check(r16, ">=", 1.8) " |"
	print "| kv.get / Redis GET | " DASH " | " rx(ratio(med("pg.kv_get.c16"), med("redis.get.c16"))) " | (reference) | |"
	print "| kv.set / Redis SET | " DASH " | " rx(ratio(med("pg.kv_set.c16"), med("redis.set.c16"))) " | (reference) | |"

	# ---------------------------------------------------------- calls
	print ""
	print "## Strings: one statement, 1,000,000 calls"
	print ""
	g = med("calls.kv_get")
	l = med("calls.length")
	# ms for 1M calls is ns per call
	print "| statement | ms | ns per call |"
	print "|---|---:|---:|"
	print "| `SELECT count(kv.get('key:' \\|\\| (g % 100000))) FROM generate_series(1, 1000000) g` | " fix(g, 1) " | " fix(g, 0) " |"
	print "| `SELECT count(length('key:' \\|\\| (g % 100000))) FROM generate_series(1, 1000000) g` | " fix(l, 1) " | " fix(l, 0) " |"
	r = ratio(g, l)
	print ""
	print "| ratio | value | target | result |"
	print "|---|---:|---|---|"
	print "| kv.get statement / length() statement | " rx(r) " | <= 3x | " check(r, "<=", 3) " |"
	print "| extra cost of kv.get over length(), ns per call | " ((g == "" || l == "") ? DASH : fix(g - l, 0)) " | | |"

	# ---------------------------------------------------------- memory
	print ""
	print "## Strings: memory per key"
	print ""
	if ("memory" in note) {
		print note["memory"]
	} else {
		keys = med("mem.keys")
		used = med("mem.used")
		payload = med("mem.payload")
		per = ratio(used, keys)
		over = (per == "") ? "" : per - payload
		print "After kv.flushall and loading " num(keys) " keys (`'key:' || g`, 32-byte values):"
		print ""
		print "| keys | used_memory | bytes per key | avg key + value bytes | overhead per key | target | result |"
		print "|---:|---:|---:|---:|---:|---|---|"
		print "| " num(keys) " | " num(used) " | " fix(per, 1) " | " fix(payload, 1) " | " fix(over, 1) " | <= 64 | " check(over, "<=", 64) " |"
		print ""
		print "used_memory of the empty cache right after kv.flushall: " num(med("mem.used_empty")) \
			" bytes (a flush also gives back the hash bucket arrays)."
	}

	# ---------------------------------------------------------- issue 3
	print ""
	print "## Sorted sets: leaderboard of 1,000,000 members"
	print ""
	if ("leaderboard" in note)
		print note["leaderboard"]
	if ("lb.zadd_ms" in cnt) {
		if ("leaderboard" in note)
			print ""
		z = med("lb.zadd_ms")
		kr = med("lb.zrevrank_us")
		sr = med("lb.sqlrank_us")
		zr = med("lb.zrange_us")
		r = ratio(sr, kr)
		print "| measurement | value | target | result |"
		print "|---|---:|---|---|"
		print "| `kv.zadd('lb', scores, members)`, 1,000,000 members in one call | " fix(z / 1000, 2) " s | <= 3 s | " check(z == "" ? "" : z / 1000, "<=", 3) " |"
		print "| `kv.zrevrank('lb', member)`, per call (" num(meta["lb.zrevrank_us.n"]) " calls in one statement) | " fix(kr, 2) " µs | | |"
		print "| SQL rank `SELECT count(*) FROM lb WHERE score > (SELECT score FROM lb WHERE member = $1)`, per call (" num(meta["lb.sqlrank_us.n"]) " calls) | " fix(sr, 1) " µs | | |"
		print "| SQL rank / kv.zrevrank, per call | " ((r == "") ? DASH : num(r) "x") " | >= 1000x | " check(r, ">=", 1000) " |"
		print "| `kv.zrevrange('lb', 0, 99)` (top 100 members), per call (" num(meta["lb.zrange_us.n"]) " calls) | " fix(zr, 2) " µs | | |"
	}
	print ""
	print "## Lists: queue, pgbench 16 clients, push/pop 50/50"
	print ""
	if ("queue" in note) {
		print note["queue"]
	} else {
		qk = med("pg.queue_kv.c16")
		qu = med("pg.queue_uq.c16")
		r = ratio(qk, qu)
		print "| workload | tps | target | result |"
		print "|---|---:|---|---|"
		print "| `kv.rpush('q', 'payload')` / `kv.lpop('q')` | " num(qk) " | | |"
		print "| UNLOGGED table `INSERT` / `DELETE ... FOR UPDATE SKIP LOCKED` | " num(qu) " | | |"
		print "| kvcache / UNLOGGED table | " rx(r) " | >= 1.5x | " check(r, ">=", 1.5) " |"
	}
	print ""
	print "Redis reference, redis-benchmark 16 clients (requests per second): ZADD " num(med("redis.zadd.c16")) \
		", LPUSH " num(med("redis.lpush.c16")) ", LPOP " num(med("redis.lpop.c16"))

	# ---------------------------------------------------------- raw runs
	print ""
	print "## Every run"
	print ""
	print "In run order (round-robin); tps, rps, ms, µs per call or bytes, as named."
	print ""
	print "```"
	for (i = 1; i <= norder; i++) {
		k = order[i]
		line = sprintf("%-20s", k)
		for (j = 1; j <= cnt[k]; j++)
			line = line " " val[k, j]
		print line
	}
	# ratios within each round: adjacent runs, so they share the machine's mood
	print ""
	print "per-round ratios (16 clients):"
	paired("kv.get/lookup c16", "pg.kv_get.c16", "pg.lookup.c16")
	paired("kv.get/SELECT 1 c16", "pg.kv_get.c16", "pg.select1.c16")
	paired("kv.set/upsert c16", "pg.kv_set.c16", "pg.upsert.c16")
	paired("queue kv/table c16", "pg.queue_kv.c16", "pg.queue_uq.c16")
	print "```"
}

# Print the per-round ratios of a and b, and their median
function paired(label, a, b,    j, m, line, r, c) {
	if (!(a in cnt) || !(b in cnt))
		return
	m = (cnt[a] < cnt[b]) ? cnt[a] : cnt[b]
	line = sprintf("%-20s", label)
	for (j = 1; j <= m; j++) {
		r = (val[b, j] > 0) ? val[a, j] / val[b, j] : 0
		line = line sprintf(" %.2f", r)
		cnt["_p"] = j
		val["_p", j] = r
	}
	cnt["_p"] = m
	print line "  (median " sprintf("%.2f", med("_p")) ")"
	delete cnt["_p"]
}
