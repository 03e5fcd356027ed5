/**
 * The human-readable report of an evidence pack, in Markdown (report.md) and HTML
 * (report.html): what the pack proves and how to verify it, what it does not prove, and a
 * timeline of every record (when, what, which model and environment, who signed it and for
 * whom, why, the ticket, the digests of the model, configuration and datasets, and which
 * approvals count).
 *
 * Both are a pure function of the pack's verified contents (the manifest, the records,
 * the checkpoint and the pack's own policy and allowlist): no clock, no environment. So
 * `candor verify-export` regenerates them and requires the files to be byte for byte the
 * same, and a report cannot say anything the records do not.
 *
 * Records are attacker-influenced text (a reason, a ticket, a model URI). One document
 * model feeds both renderers, which escape every record-derived string in one place:
 * Markdown text gets its markup characters backslash-escaped and literal values go in code
 * spans; HTML gets every string entity-escaped, and a Content-Security-Policy that allows
 * no script or remote content at all.
 */
import { diffConfigs, formatConfigDiff } from '../governance/config-diff.js';
import type { ConfigSnapshot, ParameterGroup } from '../governance/predicate.js';
import { stableStringify } from '../governance/strict-json.js';
import type { DigestSet } from '../governance/intoto.js';
import {
  evaluateApprovals,
  whyNotApproved,
  type ApprovalOutcome,
  type ApprovalVerdict,
  type ApprovalView,
  type SignerInfo,
} from '../search/approvals.js';
import type { Manifest, ManifestRecord } from './manifest.js';
import { PACK_FILES } from './manifest.js';
import type { PackAttribution, PackEntry } from './record.js';

/** A record as the report sees it: the manifest's claims, checked, and what the bytes say. */
export interface ReportRecord {
  claim: ManifestRecord;
  entry: PackEntry;
  /** The signer under the pack's allowlist snapshot. */
  signer: SignerInfo | null;
  /** Whether it counts as a governance record under that snapshot (attributeRecord). */
  attributed: boolean;
  /** Why it does not. */
  unattributed?: string;
}

/** A cosignature on the pack's checkpoint that the pack's policy knows and that verifies. */
export interface ReportCosigner {
  /** The witness's name in policy.txt. */
  name: string;
  /** Its key name. */
  keyName: string;
  /** The cosignature's time, POSIX seconds. */
  timestamp: number;
}

/** Everything the report is made of. */
export interface ReportInput {
  manifest: Manifest;
  /** In log order (the manifest's). */
  records: ReportRecord[];
  /** Cosignatures on checkpoint.txt that policy.txt knows, in policy order. */
  cosigners: ReportCosigner[];
  /** policy.txt's quorum (`none` for none). */
  quorum: string;
}

/** The two reports, and which record each line of them belongs to. */
export interface Reports {
  markdown: string;
  html: string;
  /** For each line of `markdown` (0-based): the log index of the record it describes, or null. */
  markdownOwners: (number | null)[];
  /** Likewise for `html`. */
  htmlOwners: (number | null)[];
}

// ---------------------------------------------------------------------------------------
// The document model.

type Inline = string | { code: string } | { strong: string };
type Line = Inline[];
interface Item {
  line: Line;
  sub?: Item[];
}
type Block =
  | { kind: 'h'; level: 1 | 2 | 3; line: Line }
  | { kind: 'p'; line: Line }
  | { kind: 'list'; items: Item[] }
  | { kind: 'pre'; text: string }
  | { kind: 'table'; head: [string, string]; rows: [Line, Line][] };
interface Section {
  /** The record this section describes, if any. */
  entry: number | null;
  blocks: Block[];
}

const code = (v: string): Inline => ({ code: v });
const strong = (v: string): Inline => ({ strong: v });

/**
 * Control characters, line separators and bidirectional overrides become spaces: every
 * value stays on its line, and no record can make the text around it read backwards.
 */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, ' ');
}

// ---------------------------------------------------------------------------------------
// Markdown.

function mdText(s: string): string {
  return oneLine(s).replace(/[\\`*_[\]<>|&~!#]/g, (c) => `\\${c}`);
}

function mdCode(s: string, inTable: boolean): string {
  const v = oneLine(s);
  const runs = v.match(/`+/g) ?? [];
  const fence = '`'.repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const pad = v.startsWith('`') || v.endsWith('`') || v.startsWith(' ') || v.endsWith(' ') || v === '' ? ' ' : '';
  // In a table cell a pipe ends the cell even inside a code span (GFM): escape it there.
  return `${fence}${pad}${inTable ? v.replace(/\|/g, '\\|') : v}${pad}${fence}`;
}

function mdLine(line: Line, inTable = false): string {
  return line
    .map((x) => (typeof x === 'string' ? mdText(x) : 'code' in x ? mdCode(x.code, inTable) : `**${mdText(x.strong)}**`))
    .join('');
}

function mdItems(items: Item[], depth: number, out: string[]): void {
  for (const it of items) {
    out.push(`${'  '.repeat(depth)}- ${mdLine(it.line)}`);
    if (it.sub !== undefined) mdItems(it.sub, depth + 1, out);
  }
}

function mdBlock(b: Block): string[] {
  switch (b.kind) {
    case 'h':
      return [`${'#'.repeat(b.level)} ${mdLine(b.line)}`, ''];
    case 'p':
      return [mdLine(b.line), ''];
    case 'list': {
      const out: string[] = [];
      mdItems(b.items, 0, out);
      return [...out, ''];
    }
    case 'pre':
      return ['```', ...b.text.split('\n').map(oneLine), '```', ''];
    case 'table':
      return [
        `| ${mdText(b.head[0])} | ${mdText(b.head[1])} |`,
        '| --- | --- |',
        ...b.rows.map(([a, c]) => `| ${mdLine(a, true)} | ${mdLine(c, true)} |`),
        '',
      ];
  }
}

function renderMarkdown(sections: Section[]): { text: string; owners: (number | null)[] } {
  const lines: string[] = [];
  const owners: (number | null)[] = [];
  for (const s of sections) {
    for (const b of s.blocks) {
      for (const l of mdBlock(b)) {
        lines.push(l);
        owners.push(s.entry);
      }
    }
  }
  return { text: lines.join('\n'), owners };
}

// ---------------------------------------------------------------------------------------
// HTML.

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(s: string): string {
  return oneLine(s).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

function htmlLine(line: Line): string {
  return line
    .map((x) => (typeof x === 'string' ? esc(x) : 'code' in x ? `<code>${esc(x.code)}</code>` : `<strong>${esc(x.strong)}</strong>`))
    .join('');
}

function htmlItems(items: Item[], out: string[]): void {
  out.push('<ul>');
  for (const it of items) {
    if (it.sub === undefined) out.push(`<li>${htmlLine(it.line)}</li>`);
    else {
      out.push(`<li>${htmlLine(it.line)}`);
      htmlItems(it.sub, out);
      out.push('</li>');
    }
  }
  out.push('</ul>');
}

function htmlBlock(b: Block): string[] {
  switch (b.kind) {
    case 'h':
      return [`<h${b.level}>${htmlLine(b.line)}</h${b.level}>`];
    case 'p':
      return [`<p>${htmlLine(b.line)}</p>`];
    case 'list': {
      const out: string[] = [];
      htmlItems(b.items, out);
      return out;
    }
    case 'pre':
      return [`<pre>${b.text.split('\n').map(esc).join('\n')}</pre>`];
    case 'table':
      return [
        '<table>',
        `<tr><th>${esc(b.head[0])}</th><th>${esc(b.head[1])}</th></tr>`,
        ...b.rows.map(([a, c]) => `<tr><td>${htmlLine(a)}</td><td>${htmlLine(c)}</td></tr>`),
        '</table>',
      ];
  }
}

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#1a1a1a}' +
  'code,pre{font-family:ui-monospace,monospace;font-size:.9em;overflow-wrap:anywhere}' +
  'pre{background:#f4f4f4;padding:.6rem;white-space:pre-wrap}' +
  'table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}' +
  'h3{border-top:1px solid #ddd;padding-top:.8rem}';

function renderHtml(title: string, sections: Section[]): { text: string; owners: (number | null)[] } {
  const lines: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
  ];
  const owners: (number | null)[] = lines.map(() => null);
  for (const s of sections) {
    for (const b of s.blocks) {
      for (const l of htmlBlock(b)) {
        lines.push(l);
        owners.push(s.entry);
      }
    }
  }
  lines.push('</body>', '</html>', '');
  owners.push(null, null, null);
  return { text: lines.join('\n'), owners };
}

// ---------------------------------------------------------------------------------------
// Approvals.

/**
 * For each change in the pack (by log index), its approvals in the pack and the verdict
 * of the approval rule (search/approvals.ts), with signers and attribution as the pack's
 * allowlist snapshot judges them (or as `judge` says, for another allowlist). An
 * unattributed change is never approved; an unattributed approval never counts.
 */
export function approvalOutcomes(
  records: readonly ReportRecord[],
  judge: (r: ReportRecord) => PackAttribution = (r) => ({
    attributed: r.attributed,
    signer: r.signer,
    ...(r.unattributed === undefined ? {} : { why: r.unattributed }),
  })
): Map<number, ApprovalOutcome> {
  const signerOf = (r: ReportRecord): SignerInfo | null => judge(r).signer;
  const attribution = (r: ReportRecord): { attributed: boolean; unattributed?: string } => {
    const j = judge(r);
    if (j.attributed || j.why === undefined) return { attributed: j.attributed };
    return { attributed: false, unattributed: j.why };
  };
  const byDigest = new Map<string, ApprovalView[]>();
  for (const r of records) {
    const a = r.entry.predicate.approves;
    if (r.entry.predicate.changeType !== 'approval' || a === undefined) continue;
    const reason = r.entry.predicate.reason;
    const view: ApprovalView = {
      index: r.claim.index,
      envelopeDigest: r.claim.envelopeDigest,
      signer: signerOf(r),
      decision: a.decision,
      time: r.claim.time,
      ...(reason === undefined ? {} : { reason }),
      ...attribution(r),
    };
    const key = a.digest.sha256 ?? '';
    byDigest.set(key, [...(byDigest.get(key) ?? []), view]);
  }
  const out = new Map<number, ApprovalOutcome>();
  for (const r of records) {
    const p = r.entry.predicate;
    if (p.changeType === 'approval') continue;
    const change = {
      index: r.claim.index,
      signer: signerOf(r),
      author: p.author,
      env: p.environment,
      ...attribution(r),
    };
    out.set(r.claim.index, evaluateApprovals(change, byDigest.get(r.claim.envelopeDigest) ?? []));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The content.

function digestText(d: DigestSet): string {
  return Object.keys(d)
    .sort()
    .map((alg) => `${alg}:${d[alg]!}`)
    .join(' ');
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function isoSeconds(posix: number): string {
  return new Date(posix * 1000).toISOString();
}

/** What the pack is about: `model fraud in prod`. */
function subject(m: Manifest): Line {
  const parts: Line = [];
  if (m.query.model !== null) parts.push('model ', code(m.query.model));
  if (m.query.env !== null) parts.push(m.query.model === null ? 'environment ' : ' in environment ', code(m.query.env));
  return parts;
}

function period(m: Manifest): string {
  const since = m.query.since ?? 'the start of the log';
  const until = m.query.until ?? 'the export';
  return `logged from ${since} to ${until}`;
}

function signerLine(r: ReportRecord): Line {
  const author = r.entry.predicate.author;
  const forWhom: Line = author === undefined ? [] : [' for ', code(author)];
  const unattributed: Line = r.attributed
    ? []
    : [
        '; ',
        strong('UNATTRIBUTED'),
        ': not a governance record under ',
        code(PACK_FILES.submitters),
        ` (${r.unattributed ?? ''}); it counts for nothing in this pack`,
      ];
  if (r.signer === null) {
    const none = ' made its signature (the signer is not established)';
    return ['no key in ', code(PACK_FILES.submitters), none, ...forWhom, ...unattributed];
  }
  const roles = ` (roles: ${r.signer.roles.join(', ')}; key `;
  return [strong(r.signer.name), roles, code(r.signer.keyid), ')', ...forWhom, ...unattributed];
}

function verdictLine(a: ApprovalVerdict): Line {
  const by = a.signer === null ? 'an unknown key' : a.signer.name;
  const verb = a.decision === 'approve' ? 'approved' : 'rejected';
  const line: Line = [`${verb} by `, strong(by), ` at ${a.time} (entry ${a.index})`];
  if (a.reason !== undefined) line.push(': ', a.reason);
  line.push(a.counted ? ' (counts)' : ` (does not count: ${a.why ?? ''})`);
  return line;
}

function configItem(config: ConfigSnapshot, previous: ReportRecord | undefined): Item {
  const line: Line = ['Configuration: ', code(digestText(config.digest))];
  if (config.uri !== undefined) line.push(' at ', code(config.uri));
  const sub: Item[] = [];
  const prevConfig = previous?.entry.predicate.config;
  if (previous !== undefined && prevConfig !== undefined) {
    const changes = formatConfigDiff(diffConfigs(prevConfig, config))
      .trimEnd()
      .split('\n')
      .filter((l) => !l.startsWith('config digest:'));
    sub.push({
      line: [`Changed since entry ${previous.claim.index} (`, code(digestText(prevConfig.digest)), '):'],
      sub: changes.map((l) => ({ line: [code(l)] })),
    });
  }
  const params = formatConfigDiff(diffConfigs({} as ParameterGroup, config.parameters ?? {}))
    .trimEnd()
    .split('\n')
    .filter((l) => l.startsWith('+ '))
    .map((l) => l.slice(2));
  sub.push(
    params.length === 0
      ? { line: ['Parameters: none logged'] }
      : { line: ['Parameters (secrets only as digests):'], sub: params.map((l) => ({ line: [code(l)] })) }
  );
  return { line, sub };
}

/** What the sections need to know about the other records (computed once, in log order). */
interface Context {
  outcomes: Map<number, ApprovalOutcome>;
  byDigest: Map<string, ReportRecord>;
  /** Envelope digest of a change → the indexes of the approvals in the pack deciding on it. */
  deciders: Map<string, number[]>;
  /** Log index of a record with a configuration → the previous one of its model and environment. */
  previousConfig: Map<number, ReportRecord>;
}

function context(records: readonly ReportRecord[]): Context {
  const deciders = new Map<string, number[]>();
  const previousConfig = new Map<number, ReportRecord>();
  const lastConfig = new Map<string, ReportRecord>();
  for (const r of records) {
    const p = r.entry.predicate;
    const target = p.approves?.digest.sha256;
    if (target !== undefined) deciders.set(target, [...(deciders.get(target) ?? []), r.claim.index]);
    // An unattributed configuration is nobody's: it is not the baseline of the next one.
    if (p.config !== undefined && p.changeType !== 'approval' && r.attributed) {
      const key = JSON.stringify([p.model?.id ?? null, p.environment ?? null]);
      const prev = lastConfig.get(key);
      if (prev !== undefined) previousConfig.set(r.claim.index, prev);
      lastConfig.set(key, r);
    }
  }
  return { outcomes: approvalOutcomes(records), byDigest: new Map(records.map((r) => [r.claim.envelopeDigest, r])), deciders, previousConfig };
}

function recordSection(r: ReportRecord, ctx: Context): Section {
  const c = r.claim;
  const p = r.entry.predicate;
  const head: Line = [`${c.time} · entry ${c.index} · ${p.changeType}`];
  if (p.model !== undefined) head.push(' · ', code(p.model.id));
  if (p.environment !== undefined) head.push(' · ', code(p.environment));
  const items: Item[] = [];
  const approved = p.approves === undefined ? undefined : ctx.byDigest.get(p.approves.digest.sha256 ?? '');
  if (c.role === 'match') items.push({ line: ['In this pack because: it matches the query'] });
  else if (c.role === 'approval') {
    items.push({ line: [`In this pack because: it ${p.approves?.decision === 'reject' ? 'rejects' : 'approves'} entry ${approved?.claim.index ?? '?'}, which is in this pack (it is outside the query itself)`] });
  } else {
    const by = ctx.deciders.get(c.envelopeDigest) ?? [];
    const who = by.length === 1 ? `entry ${by[0]!} decides` : `entries ${by.join(', ')} decide`;
    items.push({ line: [`In this pack because: ${who} on it, in this pack (it is outside the query itself)`] });
  }
  if (p.model !== undefined) {
    const m: Line = ['Model: ', code(p.model.id)];
    if (p.model.version !== undefined) m.push(' version ', code(p.model.version));
    if (p.model.digest !== undefined) m.push(' ', code(digestText(p.model.digest)));
    if (p.model.uri !== undefined) m.push(' at ', code(p.model.uri));
    items.push({ line: m });
  }
  if (p.environment !== undefined) items.push({ line: ['Environment: ', code(p.environment)] });
  items.push({ line: ['Signed by: ', ...signerLine(r)] });
  if (p.approves !== undefined) {
    const target: Line =
      approved === undefined
        ? ['a change that is not in this pack (', code(`sha256:${p.approves.digest.sha256 ?? ''}`), ')']
        : [`entry ${approved.claim.index} (`, code(`sha256:${p.approves.digest.sha256 ?? ''}`), ')'];
    items.push({ line: ['Decision: ', strong(p.approves.decision), ' of ', ...target] });
  }
  if (p.reason !== undefined) items.push({ line: ['Reason: ', p.reason] });
  if (p.ticket !== undefined) items.push({ line: ['Ticket: ', p.ticket] });
  if (p.config !== undefined) {
    items.push(configItem(p.config, ctx.previousConfig.get(c.index)));
  }
  if (p.trainingData !== undefined) {
    items.push({
      line: ['Training data:'],
      sub: p.trainingData.map((d) => {
        const l: Line = [];
        if (d.name !== undefined) l.push(d.name, ': ');
        l.push(code(d.uri), ' ', code(digestText(d.digest)));
        return { line: l };
      }),
    });
  }
  if (p.changeType !== 'approval') {
    const pre = p.preDetermined === undefined ? 'not stated' : p.preDetermined ? 'yes' : 'no';
    items.push({ line: [`Pre-determined change (foreseen in the conformity assessment): ${pre}`] });
  }
  if (p.createdAt !== undefined) items.push({ line: [`Time the submitter claims: ${p.createdAt}`] });
  if (p.previous !== undefined) {
    const prev = ctx.byDigest.get(p.previous.digest.sha256 ?? '');
    const l: Line = ['Follows: '];
    if (prev !== undefined) l.push(`entry ${prev.claim.index} `);
    else if (p.previous.entry !== undefined) l.push(`entry ${p.previous.entry} (as the record says; not in this pack) `);
    l.push(code(digestText(p.previous.digest)));
    items.push({ line: l });
  }
  if (p.annotations !== undefined) items.push({ line: ['Annotations: ', code(stableStringify(p.annotations))] });
  const outcome = ctx.outcomes.get(c.index);
  if (outcome !== undefined) {
    const verdict: Line = outcome.approved
      ? [strong('APPROVED'), ` by ${outcome.approvedBy.join(', ')}`]
      : [strong('NOT APPROVED'), `: ${whyNotApproved(outcome)}`];
    items.push({
      line: ['Approvals: ', ...verdict],
      ...(outcome.approvals.length === 0 ? {} : { sub: outcome.approvals.map((a) => ({ line: verdictLine(a) })) }),
    });
  }
  items.push({ line: ['Envelope: ', code(`sha256:${c.envelopeDigest}`), ', statement: ', code(`sha256:${c.payloadDigest}`)] });
  items.push({ line: ['Files: ', code(c.entry), ', ', code(c.proof)] });
  return { entry: c.index, blocks: [{ kind: 'h', level: 3, line: head }, { kind: 'list', items }] };
}

function sections(input: ReportInput): { title: string; sections: Section[] } {
  const { manifest: m, records, cosigners } = input;
  const ctx = context(records);
  const outcomes = ctx.outcomes;
  const matched = records.filter((r) => r.claim.role === 'match');
  // Unattributed records are listed apart and counted as nothing (search/attribution.ts).
  const unattributed = records.filter((r) => !r.attributed);
  const changes = matched.filter((r) => r.entry.predicate.changeType !== 'approval' && r.attributed);
  const types = new Map<string, number>();
  for (const r of changes) types.set(r.claim.changeType, (types.get(r.claim.changeType) ?? 0) + 1);
  const typeList = [...types].map(([t, n]) => `${n} ${t}`).join(', ');
  const notApproved = changes.filter((r) => outcomes.get(r.claim.index)?.approved !== true);
  const approvals = records.filter((r) => r.entry.predicate.changeType === 'approval' && r.attributed);
  const countedIndexes = new Set([...outcomes.values()].flatMap((o) => o.approvals.filter((v) => v.counted).map((v) => v.index)));
  const counted = approvals.filter((a) => countedIndexes.has(a.claim.index)).length;
  const ctxApprovals = records.filter((r) => r.claim.role === 'approval').length;
  const ctxChanges = records.filter((r) => r.claim.role === 'approved-change').length;
  const what = subject(m);
  const title = `Evidence pack: ${what.map((x) => (typeof x === 'string' ? x : 'code' in x ? x.code : x.strong)).join('')}, ${period(m)}`;
  const required = input.quorum === 'none' ? 'requires no cosignature' : `requires the quorum ${input.quorum}`;
  const cosigned =
    cosigners.length === 0
      ? `signed by the log (${PACK_FILES.policy} ${required})`
      : `signed by the log and cosigned by ${cosigners.map((w) => `${w.name} (${w.keyName}) at ${isoSeconds(w.timestamp)}`).join(', ')} (${PACK_FILES.policy} ${required})`;
  const latest =
    m.latest.size === m.checkpoint.size
      ? `the same size, ${m.latest.size}: the log had not grown since`
      : `size ${m.latest.size}, root ${m.latest.rootHash}; ${PACK_FILES.consistency} proves it extends the checkpoint above`;

  const header: Section = {
    entry: null,
    blocks: [
      { kind: 'h', level: 1, line: ['Evidence pack: ', ...what, `, ${period(m)}`] },
      {
        kind: 'p',
        line: [
          'Governance records from the transparency log ',
          code(m.log.origin),
          ' at ',
          code(m.log.url),
          `, exported at ${m.exportedAt} (the exporter's clock). ${plural(records.length, 'record')} in all.`,
        ],
      },
      {
        kind: 'table',
        head: ['Question', 'Answer'],
        rows: [
          [['Query'], [...what, `, ${period(m)} (the log's integration time, bounds included)`]],
          [['Changes in the period'], [changes.length === 0 ? 'none' : `${changes.length} (${typeList})`]],
          [['Approved'], [`${changes.length - notApproved.length} of ${changes.length}`]],
          [
            ['Not approved'],
            [notApproved.length === 0 ? 'none' : notApproved.map((r) => `entry ${r.claim.index} (${r.claim.changeType})`).join(', ')],
          ],
          [['Approval records'], [`${approvals.length} (${counted} counting)`]],
          [['Added for context'], [`${plural(ctxApprovals, 'approval')} of these changes logged outside the query; ${plural(ctxChanges, 'change')} outside the query that approvals here decide on`]],
          ...(unattributed.length === 0
            ? []
            : [
                [
                  ['Unattributed (not counted)'],
                  [
                    unattributed
                      .map((r) => `entry ${r.claim.index} (${r.claim.changeType}: ${(r.unattributed ?? '').split(':')[0]!})`)
                      .join(', '),
                  ],
                ] as [Line, Line],
              ]),
          [['Proven against'], [`checkpoint of size ${m.checkpoint.size}, root ${m.checkpoint.rootHash}, ${cosigned}`]],
          [['The log at export'], [`checkpoint of ${latest}`]],
        ],
      },
      { kind: 'h', level: 2, line: ['What this pack proves'] },
      {
        kind: 'list',
        items: [
          {
            line: [
              'Every record below is in the log ',
              code(m.log.origin),
              ': its exact bytes (',
              code('records/entry-<index>.dsse.json'),
              ') are included at the index shown in the tree of ',
              code(PACK_FILES.checkpoint),
              ` (size ${m.checkpoint.size}), by the inclusion proof next to it (`,
              code('records/entry-<index>.tlog-proof'),
              ').',
            ],
          },
          {
            line: [
              code(PACK_FILES.checkpoint),
              ' is signed by the log key ',
              code(m.log.verifierKey),
              cosigners.length === 0
                ? '.'
                : ' and cosigned by the witnesses named above. A witness cosigns a tree only after verifying that it extends every tree it cosigned before, so the log cannot show this history to some and another to others without the witnesses noticing.',
            ],
          },
          {
            line: [
              code(PACK_FILES.latest),
              ` is the log's newest checkpoint at export (size ${m.latest.size}); `,
              code(PACK_FILES.consistency),
              ' proves that it extends ',
              code(PACK_FILES.checkpoint),
              ': up to then, nothing in this pack was removed from the log or rewritten.',
            ],
          },
          {
            line: [
              "Who signed: a record's signer is the key in ",
              code(PACK_FILES.submitters),
              ' (the snapshot of the submitter allowlist) that made its DSSE signature. "for" names the person a CI key signed for, as the record states. Who approved a change is the signer of an approval record whose subject is the change\'s envelope digest.',
            ],
          },
          {
            line: [
              'Which approvals count follows one rule: logged after the change, signed by an allowlisted approver allowed in the change\'s environment, who is neither the change\'s signer nor its author; each approver\'s latest decision stands, and a rejection vetoes.',
            ],
          },
        ],
      },
      { kind: 'h', level: 2, line: ['What this pack does not prove'] },
      {
        kind: 'list',
        items: [
          {
            line: [
              "Completeness. The records were found through the log's index, which is the operator's word: it could leave a record out. Nor is the pack signed as a whole: whoever holds it could remove a record (a rejection, say) and make the manifest and reports again. Only reading the log shows that none is missing: export again, or run ",
              code('candor monitor'),
              ', which reads every entry.',
            ],
          },
          {
            line: [
              "Times. \"Logged\" is when the log integrated the record, by the operator's clock; checkpoints carry no time." +
                (cosigners.length === 0
                  ? ''
                  : ` Witness cosignatures bound it: every record here was logged before ${isoSeconds(Math.min(...cosigners.map((w) => w.timestamp)))}, when the first witness cosigned the checkpoint.`),
            ],
          },
          {
            line: [
              'Identities. ',
              code(PACK_FILES.submitters),
              ' says which name held which key, as the exporter\'s copy of the allowlist said at export. Names are pseudonymous identifiers; who they are is recorded elsewhere.',
            ],
          },
          {
            line: [
              'That the model, configuration and dataset digests are those of what was actually deployed or trained on: they are what the signer recorded. Compare them with the artifacts (',
              code('candor verify-deployment'),
              ' does so for a deployment).',
            ],
          },
          { line: ['Anything logged after the checkpoint of ', code(PACK_FILES.latest), '.'] },
        ],
      },
      { kind: 'h', level: 2, line: ['How to verify'] },
      { kind: 'p', line: ["Offline, without trusting the exporter or the log's operator. In the pack's directory, run:"] },
      { kind: 'pre', text: 'candor verify-export . --policy <your copy of the trust policy>' },
      {
        kind: 'p',
        line: [
          "Use your own copy of the trust policy (the log's verifier key and the witnesses you trust), not ",
          code(PACK_FILES.policy),
          ' from the pack; add ',
          code('--submitters <file>'),
          ' to check the signers against your own copy of the allowlist. It checks every proof and signature, every claim of ',
          code(PACK_FILES.manifest),
          ' against the bytes, and that this report is exactly what the records produce: one changed byte anywhere in the pack makes it fail, naming the file and the record. Without candor: ',
          code(PACK_FILES.manifest),
          ' lists the SHA-256 of every file, each record\'s envelope digest is the SHA-256 of its ',
          code('.dsse.json'),
          ' file, and the ',
          code('.tlog-proof'),
          ' files are c2sp.org/tlog-proof proofs that other implementations check.',
        ],
      },
      { kind: 'h', level: 2, line: ['Use in audits'] },
      {
        kind: 'p',
        line: [
          'The timeline is a change history of the system: what changed, when, who made and who approved each change, why, and the digests of the models, configurations and training data involved, each record tamper-evident. It is the kind of record the EU AI Act asks providers of high-risk systems to keep (Art. 12 record-keeping; the changes through the lifecycle and pre-determined changes described in the technical documentation, Annex IV) and that ISO/IEC 42001 controls A.6.2.8 (event logs) and A.7.5 (data provenance) call for. Whether it meets a given obligation is for the auditor to judge.',
        ],
      },
      { kind: 'h', level: 2, line: ['Timeline'] },
      ...(records.length === 0 ? [{ kind: 'p' as const, line: ['No records.'] }] : []),
    ],
  };
  return { title, sections: [header, ...records.map((r) => recordSection(r, ctx))] };
}

/**
 * Renders both reports (see the module comment).
 * @example
 * const { markdown, html } = renderReports(input);
 */
export function renderReports(input: ReportInput): Reports {
  const { title, sections: s } = sections(input);
  const md = renderMarkdown(s);
  const html = renderHtml(title, s);
  return { markdown: md.text, html: html.text, markdownOwners: md.owners, htmlOwners: html.owners };
}
