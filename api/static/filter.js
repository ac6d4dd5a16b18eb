// Which collections a search reads: one tick box per collection, shown only to someone who may read several.
// All ticked (the default) sends no filter; the server then searches every collection the key may read.

const TEXT = {
  ja: { filterLegend: "検索するコレクション" },
  en: { filterLegend: "Collections to search" },
};
for (const lang of Object.keys(TEXT)) Object.assign(window.GOVQA_TEXT[lang], TEXT[lang]);

const state = { collections: null, unticked: new Set() };

// No key prompt here: a server that wants a key gets one from the first search, and "govqa:key" says so.
async function load() {
  const key = window.GOVQA.savedKey();
  let response;
  try {
    response = await fetch("collections", { headers: { Accept: "application/json", ...(key ? { Authorization: "Bearer " + key } : {}) } });
  } catch (e) {
    return;
  }
  if (!response.ok) return;
  const info = await response.json();
  state.collections = Array.isArray(info.collections) ? info.collections : [];
  render();
}

function render() {
  const box = document.getElementById("collection-filter");
  const options = document.getElementById("collection-options");
  const collections = state.collections || [];
  box.hidden = collections.length < 2;
  options.replaceChildren(...collections.map((c) => {
    const label = document.createElement("label");
    label.className = "collection-option";
    const tick = document.createElement("input");
    tick.type = "checkbox";
    tick.value = c.name;
    tick.checked = !state.unticked.has(c.name);
    tick.addEventListener("change", () => {
      if (tick.checked) state.unticked.delete(c.name);
      else state.unticked.add(c.name);
    });
    label.append(tick, document.createTextNode(" " + (c.title ? c.title + " (" + c.name + ")" : c.name)));
    return label;
  }));
}

window.GOVQA_SCOPE = () => {
  if (!state.collections || !state.unticked.size) return null;
  return state.collections.map((c) => c.name).filter((name) => !state.unticked.has(name));
};

document.addEventListener("DOMContentLoaded", load);
document.addEventListener("govqa:key", load);
