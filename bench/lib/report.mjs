// Budgets (DESIGN.md section 11), the comparison with an earlier results file, and the markdown report.

const MiB = 1024 * 1024;
const REGRESSION = 0.2; // a ratio more than 20% worse is flagged

const fmt = (n, digits = 1) => (n === undefined || n === null ? "-" : Number(n).toFixed(digits));
const pct = (n) => (n === undefined || n === null ? "-" : `${Math.round(n * 100)}%`);

function scenario(result, size, name) {
  return result.runs.find((r) => r.size === size)?.scenarios.find((s) => s.name === name);
}

/** Growth of each scenario's req/s ratio from the smallest to the largest size run (ratio small / ratio large). */
export function growth(result) {
  const sizes = result.runs.map((r) => r.size);
  if (sizes.length < 2) return [];
  const first = sizes[0];
  const last = sizes[sizes.length - 1];
  const names = result.runs[0].scenarios.filter((s) => s.ratio_rps !== undefined).map((s) => s.name);
  return names.map((name) => {
    const ratios = Object.fromEntries(sizes.map((s) => [s, scenario(result, s, name)?.ratio_rps]));
    const a = ratios[first];
    const b = ratios[last];
    return {
      name,
      kind: scenario(result, first, name).kind,
      ratios,
      p99: Object.fromEntries(sizes.map((s) => [s, scenario(result, s, name)?.p99_ms])),
      worsening: a && b ? Math.round((a / b) * 100) / 100 : null,
      from: first,
      to: last,
    };
  });
}

export function budgets(result) {
  const out = [];
  const largest = result.runs[result.runs.length - 1];
  out.push({
    budget: "bundle gzip < 1 MiB",
    measured: `${fmt(result.bundle.gzip_bytes / 1024)} KiB`,
    status: result.bundle.gzip_bytes < MiB ? "met" : "missed",
  });
  for (const s of largest?.scenarios.filter((x) => x.hot) ?? []) {
    const measured =
      s.ratio_rps === undefined ? null : `${pct(s.ratio_rps)} of baseline req/s, p99 ${fmt(s.ratio_p99, 2)}x`;
    out.push({
      budget: `hot read "${s.name}" at ${largest.size}: >= 50% of baseline req/s, p99 <= 2x`,
      measured: measured ?? (s.status === "failed" ? "no request completed within the run (timeouts)" : s.status),
      status:
        s.status === "failed"
          ? "missed"
          : measured === null
            ? "not measured"
            : s.ratio_rps >= 0.5 && s.ratio_p99 <= 2
              ? "met"
              : "missed",
    });
  }
  const quiz = largest?.scenarios.find((s) => s.name === "quiz answer save");
  out.push({
    budget: "quiz answer save >= 50% of baseline req/s",
    measured: quiz?.ratio_rps !== undefined ? pct(quiz.ratio_rps) : (quiz?.status ?? "-"),
    status: quiz?.ratio_rps === undefined ? "not measured" : quiz.ratio_rps >= 0.5 ? "met" : "missed",
  });
  const xapi = largest?.scenarios.find((s) => s.unit === "statements/s");
  out.push({
    budget: "xAPI batch ingest >= 5,000 statements/s",
    measured: xapi?.rate !== undefined ? `${Math.round(xapi.rate)} statements/s` : (xapi?.status ?? "-"),
    status: xapi?.rate === undefined ? "not measured" : xapi.rate >= 5000 ? "met" : "missed",
  });
  const g = growth(result);
  if (g.length === 0) {
    out.push({
      budget: "no ratio worsens more than 1.5x small -> large",
      measured: "one size run",
      status: "not measured",
    });
  }
  for (const row of g) {
    out.push({
      budget: `"${row.name}" ratio worsens <= 1.5x ${row.from} -> ${row.to}`,
      measured: row.worsening === null ? "-" : `${fmt(row.worsening, 2)}x`,
      status: row.worsening === null ? "not measured" : row.worsening <= 1.5 ? "met" : "missed",
    });
  }
  return out;
}

/** Each scenario present in both runs: ratio (or rate, for custom rates) before and after; > 20% worse is flagged. */
export function compare(before, after) {
  const rows = [];
  for (const run of after.runs) {
    for (const s of run.scenarios) {
      const old = scenario(before, run.size, s.name);
      if (!old) continue;
      const [a, b, what] =
        s.ratio_rps !== undefined && old.ratio_rps !== undefined
          ? [old.ratio_rps, s.ratio_rps, "ratio"]
          : s.rate !== undefined && old.rate !== undefined
            ? [old.rate, s.rate, s.unit]
            : [undefined, undefined, null];
      if (what === null) continue;
      const change = b / a - 1;
      rows.push({
        key: `${run.size}: ${s.name}`,
        what,
        before: a,
        after: b,
        change: Math.round(change * 1000) / 1000,
        regression: change < -REGRESSION,
      });
    }
  }
  return { rows, regressions: rows.filter((r) => r.regression) };
}

export function markdown(result) {
  const lines = [];
  lines.push(`# Lectern bench ${result.run_id} (${result.mode})`, "");
  lines.push(
    `Machine: ${result.machine.cpu_model ?? "?"} x${result.machine.cpus}, ${result.machine.memory_gib} GiB, ${result.machine.platform}; ` +
      `load average at start ${result.machine.load_average_at_start.join(" / ")}.`,
    `Node ${result.node}, wrangler ${result.wrangler}, workerd ${result.workerd}, miniflare ${result.miniflare}, autocannon ${result.autocannon}. ` +
      `Source: ${result.source.ref}${result.git.head ? ` (HEAD ${result.git.head.slice(0, 10)}${result.git.working_tree_dirty ? ", tree dirty" : ""})` : ""}.`,
    `autocannon: ${result.settings.connections} connections, ${result.settings.duration_seconds} s per scenario after ${result.settings.warmup_seconds} s warm-up; total run ${result.total_seconds} s.`,
    "",
  );
  lines.push("## Static figures", "");
  lines.push("| figure | value |", "|---|---|");
  lines.push(
    `| bundle (wrangler deploy --dry-run) | ${fmt(result.bundle.bytes / 1024)} KiB, ${fmt(result.bundle.gzip_bytes / 1024)} KiB gzip |`,
  );
  if (result.startup_profile) {
    lines.push(
      `| start-up CPU (wrangler check startup: module evaluation and global scope) | ${result.startup_profile.busy_ms} ms busy of a ${result.startup_profile.profile_ms} ms profile |`,
    );
  }
  lines.push(`| start-up, baseline (wrangler dev spawn to first 200) | ${result.startup_ms.baseline} ms |`);
  for (const [size, ms] of Object.entries(result.startup_ms.lectern)) {
    lines.push(`| start-up, Lectern at ${size} (spawn to first 200 of /v1/ping) | ${ms} ms |`);
  }
  lines.push("");
  for (const run of result.runs) {
    const d = run.data;
    lines.push(
      `## ${run.size}: ${d.courses.toLocaleString("en")} courses, ${d.learners.toLocaleString("en")} learners, ` +
        `${d.enrollments.toLocaleString("en")} enrollments, ${d.xapi_statements.toLocaleString("en")} xAPI statements`,
      "",
      `Seeded in ${run.seed_seconds.api} s (API) + ${run.seed_seconds.bulk} s (bulk D1 load). The baseline is ` +
        `measured right before each scenario and each ratio is to that measurement; over this size it averaged ` +
        `${fmt(run.baseline.rps)} req/s (from ${fmt(run.baseline.min_rps)} to ${fmt(run.baseline.max_rps)}), ` +
        `p50 ${fmt(run.baseline.p50_ms)} ms, p99 ${fmt(run.baseline.p99_ms)} ms.`,
      "",
      "| scenario | kind | req/s | p50 ms | p99 ms | baseline req/s | req/s vs baseline | p99 vs baseline | status |",
      "|---|---|---:|---:|---:|---:|---:|---:|---|",
    );
    for (const s of run.scenarios) {
      if (s.rps === undefined) {
        const value = s.rate !== undefined ? `${fmt(s.rate)} ${s.unit}` : "-";
        lines.push(
          `| ${s.name} | ${s.kind} | ${value} | - | - | - | - | - | ${s.status}${s.note ? `: ${s.note}` : ""} |`,
        );
      } else {
        const extra = s.rate !== undefined ? ` (${fmt(s.rate)} ${s.unit})` : "";
        const bad =
          (s.expected_status ? s.requests - s.status_304 : s.non_2xx) || s.errors
            ? `: statuses ${JSON.stringify(s.status_codes ?? {})}, ${s.errors} errors`
            : "";
        lines.push(
          `| ${s.name} | ${s.kind}${s.hot ? " (hot)" : ""} | ${fmt(s.rps)}${extra} | ${fmt(s.p50_ms)} | ${fmt(s.p99_ms)} | ${fmt(s.baseline?.rps)} | ${pct(s.ratio_rps)} | ${s.ratio_p99 === undefined ? "-" : `${fmt(s.ratio_p99, 2)}x`} | ${s.status}${bad} |`,
        );
      }
    }
    lines.push("");
  }
  const g = growth(result);
  if (g.length) {
    const sizes = result.runs.map((r) => r.size);
    lines.push("## Growth (req/s ratio to baseline by data size)", "");
    lines.push(`| scenario | kind | ${sizes.join(" | ")} | worsening ${g[0].from} -> ${g[0].to} |`);
    lines.push(`|---|---|${sizes.map(() => "---:").join("|")}|---:|`);
    for (const row of g) {
      lines.push(
        `| ${row.name} | ${row.kind} | ${sizes.map((s) => `${pct(row.ratios[s])} (p99 ${fmt(row.p99[s])} ms)`).join(" | ")} | ${row.worsening === null ? "-" : `${fmt(row.worsening, 2)}x`} |`,
      );
    }
    lines.push("");
  }
  lines.push("## Budgets", "", "| budget | measured | status |", "|---|---|---|");
  for (const b of result.budgets) lines.push(`| ${b.budget} | ${b.measured} | ${b.status} |`);
  lines.push("");
  if (result.comparison) {
    lines.push(`## Compared with ${result.comparison.against}`, "");
    lines.push("| scenario | measure | before | after | change | |", "|---|---|---:|---:|---:|---|");
    for (const r of result.comparison.rows) {
      lines.push(
        `| ${r.key} | ${r.what} | ${fmt(r.before, 3)} | ${fmt(r.after, 3)} | ${fmt(r.change * 100)}% | ${r.regression ? "**worse by more than 20%**" : ""} |`,
      );
    }
    lines.push("");
  }
  return `${lines.join("\n")}\n`;
}
