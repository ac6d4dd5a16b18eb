// Replace and delete in the documents list, for the collections this key may edit (upload.js knows which).
// An ES module run before app.js (document order), so its labels join GOVQA_TEXT before the page is labelled.

import { POLL_MS, loadCollections, state, t } from "./upload.js";

const TEXT = {
  ja: {
    replaceDoc: "置き換え",
    replaceLabel: "{title} を新しいファイルで置き換える",
    deleteDoc: "削除",
    deleteLabel: "{title} を削除する",
    deleteConfirm: "削除を確定",
    deleteConfirmLabel: "{title} の削除を確定する（元に戻せません）",
    docWorking: "処理中です…",
  },
  en: {
    replaceDoc: "Replace",
    replaceLabel: "Replace {title} with a new file",
    deleteDoc: "Delete",
    deleteLabel: "Delete {title}",
    deleteConfirm: "Confirm delete",
    deleteConfirmLabel: "Confirm deleting {title} (cannot be undone)",
    docWorking: "Working…",
  },
};
for (const lang of Object.keys(TEXT)) Object.assign(window.GOVQA_TEXT[lang], TEXT[lang]);

async function decorateDocuments() {
  if (!state.info) await loadCollections();
  if (!state.info) return;
  const editable = new Set(state.info.collections.filter((c) => c.editable).map((c) => c.name));
  for (const row of document.querySelectorAll("#documents-body tr")) {
    if (!editable.has(row.dataset.collection) || row.querySelector(".doc-actions")) continue;
    const title = row.querySelector(".doc-title").textContent;
    const actions = document.createElement("span");
    actions.className = "doc-actions";
    const replace = document.createElement("label");
    replace.className = "doc-action";
    const replaceText = document.createElement("span");
    replaceText.textContent = t("replaceDoc");
    const input = document.createElement("input");
    input.type = "file";
    input.className = "visually-hidden";
    input.accept = state.info.accepted.join(",");
    input.setAttribute("aria-label", t("replaceLabel", { title }));
    replace.append(replaceText, input);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "doc-action doc-delete";
    remove.textContent = t("deleteDoc");
    remove.setAttribute("aria-label", t("deleteLabel", { title }));
    const note = document.createElement("span");
    note.className = "doc-note";
    note.setAttribute("role", "status");
    actions.append(replace, remove, note);
    row.querySelector("td").append(actions);
    input.addEventListener("change", () => {
      if (input.files.length) changeDocument(row, note, "PUT", input.files[0]);
    });
    remove.addEventListener("click", () => {
      if (remove.dataset.armed) {
        changeDocument(row, note, "DELETE");
        return;
      }
      remove.dataset.armed = "1";  // a second click deletes: no browser dialog
      remove.textContent = t("deleteConfirm");
      remove.setAttribute("aria-label", t("deleteConfirmLabel", { title }));
    });
  }
}

function changeDocument(row, note, method, file) {
  note.textContent = t("docWorking");
  const path = "documents/" + encodeURIComponent(row.dataset.docId);
  const request = new XMLHttpRequest();
  request.open(method, path);
  const key = window.GOVQA.savedKey();
  if (key) request.setRequestHeader("Authorization", "Bearer " + key);
  request.addEventListener("load", async () => {
    let job = null;
    try { job = JSON.parse(request.responseText); } catch (e) { job = null; }
    if (request.status !== 202 || !job) {
      note.textContent = t("stage_failed", { detail: (job && job.detail) || "HTTP " + request.status });
      return;
    }
    while (job.status !== "done" && job.status !== "failed") {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      job = await window.GOVQA.requestJSON("jobs/" + encodeURIComponent(job.id), { headers: { Accept: "application/json" } });
    }
    if (job.status === "failed") {
      note.textContent = t("stage_failed", { detail: job.message });
      return;
    }
    window.GOVQA.forgetDocuments();
    window.GOVQA.loadHealth();
    state.info = null;
    window.GOVQA.loadDocuments();
  });
  request.addEventListener("error", () => { note.textContent = t("offline"); });
  if (file) {
    const body = new FormData();
    body.append("file", file, file.name);
    request.send(body);
  } else {
    request.send();
  }
}

document.addEventListener("govqa:documents", decorateDocuments);  // app.js rendered the list (again)
