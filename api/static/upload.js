// The "add documents" view: drag and drop (or choose) files, send each to POST /documents, follow its job.
// An ES module run before app.js (document order), so its labels join GOVQA_TEXT before the page is labelled;
// from DOMContentLoaded on it talks to the server through app.js's requestJSON (same key, same prompt) once the page has started.

const TEXT = {
  ja: {
    navUpload: "文書の追加",
    uploadHeading: "文書の追加",
    uploadCollection: "追加先のコレクション",
    uploadDrop: "ここにファイルをドラッグ＆ドロップするか、下のボタンで選んでください。",
    uploadChoose: "ファイルを選ぶ",
    uploadSubmit: "追加する",
    uploadTypes: "追加できる形式: {types}（1ファイル {mb} MB まで）",
    uploadJobs: "追加の状況",
    uploadLoading: "読み込んでいます…",
    uploadNone: "このキーでは文書を追加できません。追加できる権限のあるトークンを管理者に依頼してください。",
    uploadReady: "追加した文書は、処理が終わるとすぐに検索できます。",
    uploadNoFile: "ファイルを選んでください。",
    uploadTooBig: "{name} は {mb} MB を超えているため追加できません。",
    uploadBadType: "{name} は追加できない種類のファイルです（追加できる形式: {types}）。",
    progressLabel: "{name} の進み具合",
    stage_sending: "送信中 {pct}%",
    stage_queued: "順番を待っています",
    stage_starting: "処理を始めています",
    stage_parsing: "読み取り中（スキャンした文書は文字認識します）",
    stage_embedding: "索引を作成中 {done}/{total}",
    stage_reloading: "検索に反映しています",
    stage_done: "完了: 検索できます（{pages}ページ、うち文字認識 {ocr_pages}ページ）",
    stage_failed: "追加できませんでした: {detail}",
    reason409: "同じ内容のファイルがこのコレクションに既にあります",
    reason413: "ファイルが大きすぎます",
    reason415: "ファイルの種類が名前と合わないか、追加できない種類です",
    reason422: "ファイルを読み取れません（暗号化・破損・名前の問題など）",
  },
  en: {
    navUpload: "Add documents",
    uploadHeading: "Add documents",
    uploadCollection: "Collection to add to",
    uploadDrop: "Drag and drop files here, or choose them with the button below.",
    uploadChoose: "Choose files",
    uploadSubmit: "Add",
    uploadTypes: "Accepted: {types} (up to {mb} MB per file)",
    uploadJobs: "Progress",
    uploadLoading: "Loading…",
    uploadNone: "This key cannot add documents. Ask your administrator for a token that may.",
    uploadReady: "A document you add can be searched as soon as it has been processed.",
    uploadNoFile: "Choose a file first.",
    uploadTooBig: "{name} is over {mb} MB and cannot be added.",
    uploadBadType: "{name} is not a type that can be added (accepted: {types}).",
    progressLabel: "Progress of {name}",
    stage_sending: "Sending {pct}%",
    stage_queued: "Waiting in the queue",
    stage_starting: "Starting",
    stage_parsing: "Reading (scanned pages are recognised by OCR)",
    stage_embedding: "Indexing {done}/{total}",
    stage_reloading: "Making it searchable",
    stage_done: "Done: searchable now ({pages} pages, {ocr_pages} of them by OCR)",
    stage_failed: "Could not add it: {detail}",
    reason409: "a file with the same content is already in this collection",
    reason413: "the file is too large",
    reason415: "the file's content does not match its name, or the type cannot be added",
    reason422: "the file cannot be read (encrypted, damaged, or a problem with its name)",
  },
};
for (const lang of Object.keys(TEXT)) Object.assign(window.GOVQA_TEXT[lang], TEXT[lang]);

export const POLL_MS = 500;
const $ = (id) => document.getElementById(id);
export const state = { info: null, loading: null, items: [] };

export function t(key, values) {
  return window.GOVQA.t(key, values);
}

export async function loadCollections() {
  if (state.info || state.loading) return state.loading;
  $("upload-status").textContent = t("uploadLoading");
  state.loading = window.GOVQA.requestJSON("collections", { headers: { Accept: "application/json" } })
    .then((info) => { state.info = info; render(); })
    .catch((error) => { $("upload-status").textContent = t("stage_failed", { detail: error.message }); })
    .finally(() => { state.loading = null; });
  return state.loading;
}

function render() {
  for (const item of state.items) renderItem(item);
  const info = state.info;
  if (!info) return;
  const editable = info.collections.filter((c) => c.editable);
  $("upload-status").textContent = editable.length ? t("uploadReady") : t("uploadNone");
  $("upload-form").hidden = !editable.length;
  $("upload-types").textContent = t("uploadTypes", { mb: mb(info.upload_max_bytes), types: info.accepted.join(" ") });
  $("upload-file").accept = info.accepted.join(",");
  const select = $("upload-collection");
  const chosen = select.value;
  select.replaceChildren(...editable.map((c) => {
    const option = document.createElement("option");
    option.value = c.name;
    option.textContent = c.title ? c.title + " (" + c.name + ")" : c.name;
    return option;
  }));
  if (chosen && editable.some((c) => c.name === chosen)) select.value = chosen;
  $("upload-jobs-heading").hidden = !state.items.length;
}

function mb(bytes) {
  return String(Math.round(bytes / 1e5) / 10);
}

function showError(text) {
  const box = $("upload-error");
  box.textContent = text || "";
  box.hidden = !text;
}

// One list item per file: name, a <progress>, and what is happening in words.
function addItem(file) {
  const node = document.createElement("li");
  node.className = "upload-item";
  const name = document.createElement("span");
  name.className = "upload-name";
  name.textContent = file.name;
  const bar = document.createElement("progress");
  bar.max = 100;
  const words = document.createElement("span");
  words.className = "upload-stage";
  node.append(name, bar, words);
  $("upload-jobs").prepend(node);
  const item = { file, node, bar, words, stage: "sending", values: { pct: 0 }, failed: false };
  state.items.push(item);
  $("upload-jobs-heading").hidden = false;
  renderItem(item);
  return item;
}

function renderItem(item) {
  item.bar.setAttribute("aria-label", t("progressLabel", { name: item.file.name }));
  const values = { ...item.values };
  // The server's reason is English; the page leads with its own words for the kind of refusal.
  const reason = TEXT.ja["reason" + values.status] ? t("reason" + values.status) : "";
  if (reason) values.detail = reason + " (" + values.detail + ")";
  item.words.textContent = t("stage_" + item.stage, values) || item.stage;
  item.node.classList.toggle("is-failed", item.stage === "failed");
  item.node.classList.toggle("is-done", item.stage === "done");
  item.words.setAttribute("role", item.stage === "failed" ? "alert" : "status");
  const pct = item.stage === "sending" ? item.values.pct : item.stage === "done" ? 100 : item.stage === "failed" ? 0
    : item.stage === "embedding" && item.values.total ? 50 + 40 * item.values.done / item.values.total
    : { queued: 30, starting: 35, parsing: 40, reloading: 95 }[item.stage];
  if (pct === undefined) item.bar.removeAttribute("value");
  else item.bar.value = pct;
}

function setStage(item, stage, values) {
  item.stage = stage;
  item.values = values || {};
  renderItem(item);
}

// XMLHttpRequest, not fetch: only it reports how much of the file has been sent.
function send(item, collection) {
  return new Promise((resolve) => {
    const body = new FormData();
    body.append("collection", collection);
    body.append("file", item.file, item.file.name);
    const request = new XMLHttpRequest();
    request.open("POST", "documents");
    const key = window.GOVQA.savedKey();
    if (key) request.setRequestHeader("Authorization", "Bearer " + key);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) setStage(item, "sending", { pct: Math.round(99 * event.loaded / event.total) });
    });
    request.addEventListener("load", () => {
      let data = null;
      try { data = JSON.parse(request.responseText); } catch (e) { data = null; }
      if (request.status === 202 && data) resolve(data);
      else {
        const detail = data && typeof data.detail === "string" ? data.detail : "HTTP " + request.status;
        setStage(item, "failed", { detail, status: request.status });
        resolve(null);
      }
    });
    request.addEventListener("error", () => {
      setStage(item, "failed", { detail: t("offline") });
      resolve(null);
    });
    request.send(body);
  });
}

async function follow(item, job) {
  while (job && job.status !== "done" && job.status !== "failed") {
    setStage(item, TEXT.ja["stage_" + job.stage] ? job.stage : "starting", job);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    try {
      job = await window.GOVQA.requestJSON("jobs/" + encodeURIComponent(job.id), { headers: { Accept: "application/json" } });
    } catch (error) {
      setStage(item, "failed", { detail: error.message });
      return;
    }
  }
  if (!job) return;
  if (job.status === "done") {
    setStage(item, "done", job);
    window.GOVQA.forgetDocuments();
    window.GOVQA.loadHealth();
    state.info = null;  // document counts changed
  } else {
    setStage(item, "failed", { detail: job.message });
  }
}

async function addFiles(files) {
  showError("");
  if (!files.length) {
    showError(t("uploadNoFile"));
    return;
  }
  if (!state.info) await loadCollections();
  if (!state.info) return;
  const collection = $("upload-collection").value;
  const info = state.info;  // reset once a file is done: counts change
  const limit = info.upload_max_bytes;
  for (const file of files) {
    const item = addItem(file);
    const suffix = (file.name.match(/\.[^.]+$/) || [""])[0].toLowerCase();
    if (!info.accepted.includes(suffix)) {
      setStage(item, "failed", { detail: t("uploadBadType", { name: file.name, types: info.accepted.join(" ") }) });
      continue;
    }
    if (file.size > limit) { setStage(item, "failed", { detail: t("uploadTooBig", { name: file.name, mb: mb(limit) }) }); continue; }
    const job = await send(item, collection);
    await follow(item, job);
  }
}

function init() {
  const zone = $("drop-zone");
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("is-over");
    });
  }
  for (const type of ["dragleave", "drop"]) zone.addEventListener(type, () => zone.classList.remove("is-over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    addFiles([...(event.dataTransfer ? event.dataTransfer.files : [])]);
  });
  $("upload-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("upload-file");
    const files = [...input.files];
    input.value = "";
    addFiles(files);
  });
  document.addEventListener("govqa:view", (event) => { if (event.detail === "upload") loadCollections(); });
  document.addEventListener("govqa:lang", render);
  if (window.location.hash === "#upload") loadCollections();
}

document.addEventListener("DOMContentLoaded", init);  // after app.js has started the page (it runs first)
