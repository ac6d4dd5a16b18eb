// Reading POST /ask's server-sent events ("stream": true): the passages first ("hits"), then each
// sentence of the answer once its citations were checked ("delta"), then the whole answer ("answer",
// what /ask gives without streaming). A local model may take seconds per sentence; the passages and
// the first sentences are there to read meanwhile. Exposes window.GOVQA_STREAM for app.js.
"use strict";

(function () {
  /** One frame ("event: name\ndata: {...}") as {name, data}, or null for a comment or keep-alive. */
  function parseFrame(frame) {
    let name = "message";
    const data = [];
    for (const line of frame.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
  }

  /** Calls onEvent(name, data) for each event of the response's body; resolves to the answer's data,
   *  or null when the stream ended before it. */
  async function readAnswer(response, onEvent) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let answer = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buffer += value.replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = parseFrame(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (!event) continue;
        if (event.name === "answer") answer = event.data;
        onEvent(event.name, event.data);
      }
      if (done) return answer;
    }
  }

  window.GOVQA_STREAM = { parseFrame, readAnswer };
})();
