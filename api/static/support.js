// The article check view (#support): paste an article, POST /support, and show per claim the verdict,
// the conflicting spans side by side and the deciding passages with page links; then the references.
// Text from the server goes into the DOM through textContent only.

const app = window.GOVQA;
const VERDICTS = ["supported", "weak", "contradicted", "unsupported"];
const $ = (id) => document.getElementById(id);
let last = null;
let controller = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function status(key, values, kind) {
  const box = $("support-status");
  box.replaceChildren();
  box.className = "status" + (kind ? " status-" + kind : "");
  if (key) box.textContent = app.t(key, values);
}

async function check(event) {
  event.preventDefault();
  const text = $("support-text").value;
  if (!text.trim()) {
    status("supportNeedText", null, "empty");
    $("support-text").focus();
    return;
  }
  if (controller) controller.abort();
  controller = new AbortController();
  const view = $("support-view");
  view.setAttribute("aria-busy", "true");
  $("support-submit").disabled = true;
  status("supportLoading", null, "loading");
  try {
    last = await app.post("support", { text, format: $("support-format").value }, controller.signal);
    render();
  } catch (error) {
    if (error.name === "AbortError") return;
    last = null;
    render();
    status("supportError", { detail: error.message }, "error");
  } finally {
    view.removeAttribute("aria-busy");
    $("support-submit").disabled = false;
  }
}

function render() {
  const list = $("support-claims");
  list.replaceChildren();
  $("support-summary").hidden = true;
  $("support-references").hidden = true;
  if (!last) return;
  const claims = last.claims || [];
  status(claims.length ? null : "supportNone", null, claims.length ? null : "empty");
  if (!claims.length) return;
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, claims.filter((c) => c.verdict === v).length]));
  const summary = $("support-summary");
  summary.textContent = app.t("supportSummary", { n: claims.length, ...counts });
  summary.hidden = false;
  for (const claim of claims) list.append(renderClaim(claim));
  renderReferences(last.references || []);
}

function renderClaim(claim) {
  const item = el("li", "claim claim-" + claim.verdict);
  item.id = "claim-" + claim.n;
  const head = el("p", "claim-head");
  head.append(el("span", "verdict verdict-" + claim.verdict, app.t("verdict_" + claim.verdict)));
  head.append(el("span", "claim-score", app.t("supportScore", { score: Number(claim.score).toFixed(2) })));
  if (claim.footnotes && claim.footnotes.length) {
    head.append(el("span", "claim-footnotes", app.t("footnotes", { n: claim.footnotes.join(", ") })));
  }
  item.append(head, el("blockquote", "claim-text", claim.text));
  if (claim.cross_language) item.append(el("p", "claim-cross", app.t("crossLanguage")));
  if (claim.note) item.append(el("p", "claim-note", claim.note));
  if (claim.conflicts && claim.conflicts.length) item.append(renderConflicts(claim.conflicts));
  const passages = (claim.passages || []).slice(0, 3);
  if (passages.length) {
    item.append(el("p", "passages-label",
                   app.t(claim.verdict === "unsupported" ? "nearestPassages" : "decidingPassages")));
    const list = el("ul", "claim-passages");
    for (const hit of passages) list.append(renderPassage(hit));
    item.append(list);
  }
  return item;
}

function renderConflicts(conflicts) {
  const table = el("table", "conflicts");
  table.append(el("caption", null, app.t("conflictCaption")));
  const head = el("tr");
  head.append(el("th", null, app.t("conflictClaim")), el("th", null, app.t("conflictPassage")));
  for (const cell of head.children) cell.scope = "col";
  const body = el("tbody");
  for (const conflict of conflicts) {
    const row = el("tr");
    row.append(el("td", "conflict-claim", conflict.claim), el("td", "conflict-passage", app.tidy(conflict.passage)));
    body.append(row);
  }
  const thead = el("thead");
  thead.append(head);
  table.append(thead, body);
  return table;
}

function renderPassage(hit) {
  const item = el("li", "claim-passage");
  // The page with the passage framed, opening the citation viewer (viewer.js), as on the search cards.
  if (window.GOVQA_VIEWER) item.append(window.GOVQA_VIEWER.thumbnail(hit));
  const link = el("a", null, `${hit.title || hit.doc_id}, ${app.t("page", { n: hit.page })}`);
  link.href = hit.file_url || hit.url;
  link.target = "_blank";
  link.rel = "noopener";
  item.append(link, el("span", "claim-score", " " + app.t("supportScore", { score: Number(hit.support).toFixed(2) })));
  const quote = app.tidy(hit.text).replace(/\s+/g, " ");
  item.append(el("p", "passage-text", quote.length > 300 ? quote.slice(0, 300) + "…" : quote));
  return item;
}

function renderReferences(references) {
  const list = $("support-reference-list");
  list.replaceChildren();
  if (!references.length) return;
  for (const ref of references) {
    const item = el("li", ref.doc_id ? "reference-matched" : "reference-missing");
    item.value = ref.n;
    item.append(el("span", "reference-text", ref.text));
    const where = ref.doc_id ? app.t("referenceMatched", { title: ref.doc_id })
      : app.t(ref.urls && ref.urls.length ? "referenceMissing" : "referenceNoUrl");
    item.append(el("span", "reference-status", where));
    list.append(item);
  }
  $("support-references").hidden = false;
}

$("support-form").addEventListener("submit", check);
document.addEventListener("govqa:lang", () => render());
