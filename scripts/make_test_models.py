"""Generate tiny, deterministic stand-ins for the Whisper and Piper models used in tests.

Writes ``OUTDIR/stt`` (a real CTranslate2 Whisper model that faster-whisper loads) and
``OUTDIR/tts`` (two Piper voices: ONNX graph plus ``.onnx.json`` config).  No network, no
torch: the Whisper weights are set by hand so that decoding is a fixed bigram chain
(``... -> " turn on the kitchen light" -> <|endoftext|>``) whatever the audio, and the Piper
graph plays one short tone per phoneme id.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shutil
import string
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from ctranslate2.specs import whisper_spec
from onnx import TensorProto, helper
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

# --- Whisper -------------------------------------------------------------------------------

N_MELS = 80
D_MODEL = 64
N_HEADS = 4
FFN_DIM = 256
N_AUDIO_CTX = 1500
N_TEXT_CTX = 448
N_REGULAR_TOKENS = 50257  # byte-level BPE tokens before <|endoftext|>
N_TIMESTAMPS = 1501  # <|0.00|> ... <|30.00|>
LOGIT = 24.0  # logit of the chosen next token; every other token is near 0

# Whisper's language tokens in vocabulary order: the multilingual v1/v2 layout (99 languages,
# 51865 tokens in all), which CTranslate2 and faster-whisper treat as multilingual.
LANGUAGE_CODES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no "
    "th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw "
    "gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl "
    "mg as tt haw ln ha ba jw su"
)
LANGUAGES = LANGUAGE_CODES.split()
TASK_TOKENS = (
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|notimestamps|>",
)
# Real English words (with GPT-2's "Ġ" = leading space) so encode/decode look natural.
WORD_LIST = (
    "turn on off the kitchen living room bedroom light lights hello world this is a test "
    "what time weather set timer for minutes play music stop and to it of in"
)
WORDS = WORD_LIST.split()
# Symbols in config.json "suppress_ids" (used when a caller passes suppress_tokens=[-1]).
SUPPRESSED_SYMBOLS = '"#()*+/:;<=>@[\\]^_`{|}~'
# The transcript every clip decodes to.
TRANSCRIPT = ("turn", "on", "the", "kitchen", "light")
# Filler tokens a stray beam-search branch walks through before <|endoftext|>.
SINK_LENGTH = 8


def byte_to_unicode() -> dict[int, str]:
    """Map each byte to the printable character byte-level BPE (GPT-2) uses for it."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def build_vocabulary() -> tuple[list[str], list[tuple[str, str]]]:
    """Return the 51865-token Whisper vocabulary and the BPE merges of its word tokens."""
    space = byte_to_unicode()[ord(" ")]
    tokens = list(byte_to_unicode().values())
    merges: list[tuple[str, str]] = []
    known = set(tokens)
    for word in WORDS:
        piece = space
        for char in word:
            merged = piece + char
            if merged not in known:
                known.add(merged)
                tokens.append(merged)
                merges.append((piece, char))
            piece = merged
    # Readable filler up to the regular vocabulary size: "Ġab", "ab", "Ġabc", "abc", ...
    fillers = (
        prefix + "".join(letters)
        for length in (2, 3, 4)
        for letters in itertools.product(string.ascii_lowercase, repeat=length)
        for prefix in (space, "")
    )
    for piece in fillers:
        if len(tokens) == N_REGULAR_TOKENS - 1:
            break
        if piece not in known:
            known.add(piece)
            tokens.append(piece)
    # Multilingual Whisper has an empty token right before <|endoftext|>; CTranslate2 checks
    # for it to decide that the model is multilingual.
    tokens.append("")
    specials = [
        "<|endoftext|>",
        "<|startoftranscript|>",
        *(f"<|{code}|>" for code in LANGUAGES),
        *TASK_TOKENS,
        *(f"<|{i * 0.02:.2f}|>" for i in range(N_TIMESTAMPS)),
    ]
    return tokens + specials, merges


def build_tokenizer(vocabulary: list[str], merges: list[tuple[str, str]]) -> Tokenizer:
    """Build a Hugging Face byte-level BPE tokenizer with the same ids as ``vocabulary``."""
    regular = {token: i for i, token in enumerate(vocabulary[:N_REGULAR_TOKENS])}
    tokenizer = Tokenizer(models.BPE(vocab=regular, merges=merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(
        [AddedToken(token, normalized=False) for token in vocabulary[N_REGULAR_TOKENS:]]
    )
    for i in (N_REGULAR_TOKENS, len(vocabulary) - 1):
        if tokenizer.token_to_id(vocabulary[i]) != i:
            raise RuntimeError(f"tokenizer id mismatch for {vocabulary[i]}")
    return tokenizer


def decoding_chain(ids: dict[str, int]) -> tuple[dict[int, int], int]:
    """Return the "previous token -> next token" map and the successor of every other token.

    Any other token (a beam-search branch) is followed by a run of SINK_LENGTH filler tokens
    and then <|endoftext|>: such branches finish after the real transcript does, so beam
    search (which stops after beam_size finished hypotheses) always sees the transcript.
    """
    words = [ids["Ġ" + word] for word in TRANSCRIPT]
    first_timestamp = ids["<|0.00|>"]
    sinks = [ids["Ġz" + letter] for letter in string.ascii_lowercase[:SINK_LENGTH]]
    eot = ids["<|endoftext|>"]
    chain = {
        ids["<|startoftranscript|>"]: ids["<|en|>"],  # language detection says English
        ids["<|en|>"]: ids["<|transcribe|>"],
        ids["<|transcribe|>"]: first_timestamp,  # timestamp mode must start with a timestamp
        ids["<|translate|>"]: first_timestamp,
        ids["<|notimestamps|>"]: words[0],
        first_timestamp: words[0],
    }
    chain.update(zip(words, [*words[1:], eot], strict=True))
    chain.update(zip(sinks, [*sinks[1:], eot], strict=True))
    return chain, sinks[0]


class WeightFiller:
    """Seeded source of small random weights for CTranslate2 layer specs."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def noise(self, *shape: int, scale: float = 0.02) -> np.ndarray:
        """Return float32 Gaussian noise of the given shape."""
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def linear(self, spec: Any, out_dim: int, in_dim: int, scale: float = 0.02) -> None:
        """Fill a LinearSpec: random weight, zero bias."""
        spec.weight = self.noise(out_dim, in_dim, scale=scale)
        spec.bias = np.zeros(out_dim, np.float32)

    @staticmethod
    def layer_norm(spec: Any) -> None:
        """Fill a LayerNormSpec with the identity (gamma 1, beta 0)."""
        spec.gamma = np.ones(D_MODEL, np.float32)
        spec.beta = np.zeros(D_MODEL, np.float32)

    def attention(self, spec: Any, self_attention: bool) -> None:
        """Fill an attention spec whose output projection is ~0 (attention does not matter)."""
        self.layer_norm(spec.layer_norm)
        if self_attention:
            self.linear(spec.linear[0], 3 * D_MODEL, D_MODEL)
        else:
            self.linear(spec.linear[0], D_MODEL, D_MODEL)
            self.linear(spec.linear[1], 2 * D_MODEL, D_MODEL)
        self.linear(spec.linear[-1], D_MODEL, D_MODEL, scale=1e-4)

    def ffn(self, spec: Any) -> None:
        """Fill a feed-forward spec whose output is ~0."""
        self.layer_norm(spec.layer_norm)
        self.linear(spec.linear_0, FFN_DIM, D_MODEL)
        self.linear(spec.linear_1, D_MODEL, FFN_DIM, scale=1e-4)


def fill_encoder(spec: Any, fill: WeightFiller) -> None:
    """Fill the Whisper encoder (80 mels -> 1500 x d_model) with small random weights."""
    spec.conv1.weight = fill.noise(D_MODEL, N_MELS, 3, scale=0.05)
    spec.conv1.bias = np.zeros(D_MODEL, np.float32)
    spec.conv2.weight = fill.noise(D_MODEL, D_MODEL, 3, scale=0.05)
    spec.conv2.bias = np.zeros(D_MODEL, np.float32)
    half = D_MODEL // 2
    position = np.arange(N_AUDIO_CTX)[:, None] / 10000 ** (np.arange(half) / (half - 1))
    sinusoids = np.concatenate([np.sin(position), np.cos(position)], axis=1)
    spec.position_encodings.encodings = sinusoids.astype(np.float32)
    fill.layer_norm(spec.layer_norm)
    for layer in spec.layer:
        fill.attention(layer.self_attention, self_attention=True)
        fill.ffn(layer.ffn)


def fill_decoder(
    spec: Any, fill: WeightFiller, vocab_size: int, chain: dict[int, int], default_next: int
) -> None:
    """Fill the decoder so that its output depends only on the previous token.

    Attention outputs and FFNs are ~0, so the residual stream is the token embedding.  Each
    chain token gets its own orthonormal, zero-mean direction (norm sqrt(d), so LayerNorm is
    the identity); the output projection row of its successor points along that direction.
    Every other token shares one "default" direction whose successor is ``default_next``.
    Successor rows carry no noise, so they never win by chance over the (noisy) filler rows.
    """
    sources = sorted(chain)
    basis = fill.rng.standard_normal((D_MODEL, len(sources) + 1))
    basis -= basis.mean(axis=0)  # zero-mean columns stay zero-mean through QR
    directions = np.linalg.qr(basis)[0].T.astype(np.float32)  # orthonormal rows
    norm = np.float32(np.sqrt(D_MODEL))
    embeddings = norm * directions[-1] + fill.noise(vocab_size, D_MODEL, scale=0.05)
    projection = fill.noise(vocab_size, D_MODEL, scale=0.01)
    projection[[*chain.values(), default_next]] = 0.0
    projection[default_next] += LOGIT / norm * directions[-1]
    for source, direction in zip(sources, directions[:-1], strict=True):
        embeddings[source] = norm * direction
        projection[chain[source]] += LOGIT / norm * direction

    spec.embeddings.weight = embeddings
    spec.position_encodings.encodings = np.zeros((N_TEXT_CTX, D_MODEL), np.float32)
    fill.layer_norm(spec.layer_norm)
    spec.projection.weight = projection
    for layer in spec.layer:
        fill.attention(layer.self_attention, self_attention=True)
        fill.attention(layer.attention, self_attention=False)
        fill.ffn(layer.ffn)


def build_whisper_spec(vocabulary: list[str], seed: int = 0) -> whisper_spec.WhisperSpec:
    """Return a filled 1-layer WhisperSpec that always decodes the TRANSCRIPT chain."""
    ids = {token: i for i, token in enumerate(vocabulary)}
    eot = ids["<|endoftext|>"]
    fill = WeightFiller(seed)
    spec = whisper_spec.WhisperSpec(1, N_HEADS, 1, N_HEADS)
    fill_encoder(spec.encoder, fill)
    chain, default_next = decoding_chain(ids)
    fill_decoder(spec.decoder, fill, len(vocabulary), chain, default_next)

    byte_tokens = byte_to_unicode()
    config = spec.config
    config.lang_ids = [ids[f"<|{code}|>"] for code in LANGUAGES]
    config.suppress_ids = sorted(ids[byte_tokens[ord(c)]] for c in SUPPRESSED_SYMBOLS)
    config.suppress_ids_begin = [ids[byte_tokens[ord(" ")]], eot]
    config.alignment_heads = [[0, head] for head in range(N_HEADS)]
    spec.register_vocabulary(vocabulary)
    return spec


def build_whisper(outdir: Path) -> None:
    """Write a tiny multilingual CTranslate2 Whisper model (plus tokenizer.json) to outdir."""
    vocabulary, merges = build_vocabulary()
    spec = build_whisper_spec(vocabulary)
    spec.validate()
    spec.optimize(quantization="int8")
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    spec.save(str(outdir))
    build_tokenizer(vocabulary, merges).save(str(outdir / "tokenizer.json"))
    preprocessor = {
        "feature_size": N_MELS,
        "sampling_rate": 16000,
        "hop_length": 160,
        "chunk_length": 30,
        "n_fft": 400,
    }
    (outdir / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2) + "\n")


# --- Piper ---------------------------------------------------------------------------------

PIPER_SAMPLE_RATE = 22050
SECONDS_PER_ID = 0.06
# Piper's espeak phoneme ids, in id order: "_" pad = 0, "^" BOS = 1, "$" EOS = 2, ...
PHONEME_SYMBOLS = [
    *"_^$ !'(),-.:;?abcdefhijklmnopqrstuvwxyzæçðøħŋœǀǁǂǃɐɑɒɓɔɕɖɗɘəɚɛɜɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳ",  # noqa: RUF001
    *"ɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢʲˈˌːˑ˞βθχᵻⱱ0123456789",
    *'\u0327\u0303\u032a\u032f\u0329ʰˤε↓#"↑\u033a\u033bgʦX\u031d\u030aɝʷ',
    "aɪ",  # noqa: RUF001
    "aʊ",
    "ɔɪ",
    "eɪ",  # noqa: RUF001
    "oʊ",
]


def build_piper_graph(num_speakers: int) -> onnx.ModelProto:
    """Build an ONNX graph with Piper's VITS signature that plays one tone per phoneme id.

    Output length is ``len(ids) * max(1, round(0.06 s * sample_rate * length_scale))``; the
    pitch depends on the id and, for multi-speaker voices, on ``sid``.
    """
    consts = {
        "minus_one": np.array([-1], np.int64),
        "zero_start": np.array([0], np.int64),
        "axis1": np.array([1], np.int64),
        "axis0": np.array([0], np.int64),
        "one_index": np.array(1, np.int64),
        "range_start": np.array(0, np.int64),
        "range_step": np.array(1, np.int64),
        "samples_per_id": np.array(SECONDS_PER_ID * PIPER_SAMPLE_RATE, np.float32),
        "one": np.array(1.0, np.float32),
        "half": np.array(0.5, np.float32),
        "quarter": np.array(0.25, np.float32),
        "two": np.array(2.0, np.float32),
        "three": np.array(3.0, np.float32),
        "two_pi": np.array(2 * math.pi, np.float32),
        "hz_per_id": np.array(2.0, np.float32),
        "base_hz": np.array(100.0, np.float32),
        "sample_rate": np.array(float(PIPER_SAMPLE_RATE), np.float32),
        "out_shape": np.array([1, 1, -1], np.int64),
    }
    n = helper.make_node
    nodes = [
        n("Reshape", ["input", "minus_one"], ["flat_ids"]),
        n("Slice", ["flat_ids", "zero_start", "input_lengths"], ["ids"]),
        n("Cast", ["ids"], ["ids_f"], to=TensorProto.FLOAT),
        n("Mul", ["ids_f", "hz_per_id"], ["id_hz"]),
        n("Add", ["id_hz", "base_hz"], ["base_freq"]),
        # samples per id = max(1, round(samples_per_id * length_scale))
        n("Gather", ["scales", "one_index"], ["length_scale"]),
        n("Mul", ["length_scale", "samples_per_id"], ["spi_raw"]),
        n("Round", ["spi_raw"], ["spi_round"]),
        n("Max", ["spi_round", "one"], ["spi_f"]),
        n("Cast", ["spi_f"], ["spi"], to=TensorProto.INT64),
        n("Range", ["range_start", "spi", "range_step"], ["t_idx"]),
        n("Cast", ["t_idx"], ["t_idx_f"], to=TensorProto.FLOAT),
        n("Div", ["t_idx_f", "sample_rate"], ["t_sec"]),
        # Hann window per tone avoids clicks between phonemes.
        n("Div", ["t_idx_f", "spi_f"], ["t_frac"]),
        n("Mul", ["t_frac", "two_pi"], ["win_phase"]),
        n("Cos", ["win_phase"], ["win_cos"]),
        n("Mul", ["win_cos", "half"], ["win_half"]),
        n("Sub", ["half", "win_half"], ["window"]),
    ]
    inputs = [
        helper.make_tensor_value_info("input", TensorProto.INT64, [1, "phonemes"]),
        helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
        helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
    ]
    freq = "base_freq"
    if num_speakers > 1:
        inputs.append(helper.make_tensor_value_info("sid", TensorProto.INT64, [1]))
        consts["speaker_step"] = np.array(0.25, np.float32)
        nodes += [
            n("Cast", ["sid"], ["sid_f"], to=TensorProto.FLOAT),
            n("Mul", ["sid_f", "speaker_step"], ["sid_step"]),
            n("Add", ["sid_step", "one"], ["speaker_factor"]),
            n("Mul", ["base_freq", "speaker_factor"], ["speaker_freq"]),
        ]
        freq = "speaker_freq"
    nodes += [
        n("Unsqueeze", [freq, "axis1"], ["freq_col"]),
        n("Unsqueeze", ["t_sec", "axis0"], ["t_row"]),
        n("Mul", ["freq_col", "t_row"], ["cycles"]),
        n("Mul", ["cycles", "two_pi"], ["phase"]),
        n("Mul", ["phase", "two"], ["phase2"]),
        n("Mul", ["phase", "three"], ["phase3"]),
        n("Sin", ["phase"], ["h1"]),
        n("Sin", ["phase2"], ["h2_raw"]),
        n("Sin", ["phase3"], ["h3_raw"]),
        n("Mul", ["h2_raw", "half"], ["h2"]),
        n("Mul", ["h3_raw", "quarter"], ["h3"]),
        n("Add", ["h1", "h2"], ["h12"]),
        n("Add", ["h12", "h3"], ["harmonics"]),
        n("Mul", ["harmonics", "window"], ["tones"]),
        n("Mul", ["tones", "half"], ["tones_scaled"]),
        n("Reshape", ["tones_scaled", "out_shape"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "piper_test_voice",
        inputs,
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "time"])],
        initializer=[onnx.numpy_helper.from_array(v, name=k) for k, v in consts.items()],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="chatterbox"
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def piper_config(speaker_id_map: dict[str, int]) -> dict[str, object]:
    """Return the ``<voice>.onnx.json`` contents Piper reads for an en_US espeak voice."""
    return {
        "audio": {"sample_rate": PIPER_SAMPLE_RATE, "quality": "medium"},
        "espeak": {"voice": "en-us"},
        "language": {
            "code": "en_US",
            "family": "en",
            "region": "US",
            "name_native": "English",
            "name_english": "English",
            "country_english": "United States",
        },
        "inference": {"noise_scale": 0.667, "length_scale": 1.0, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "phoneme_id_map": {symbol: [i] for i, symbol in enumerate(PHONEME_SYMBOLS)},
        "num_symbols": 256,
        "num_speakers": max(1, len(speaker_id_map)),
        "speaker_id_map": speaker_id_map,
        "dataset": "chatterbox-test",
        "piper_version": "1.0.0",
    }


def build_piper_voice(outdir: Path, name: str, speaker_id_map: dict[str, int]) -> Path:
    """Write ``outdir/<name>.onnx`` and its ``.onnx.json``; return the model path."""
    outdir.mkdir(parents=True, exist_ok=True)
    model_path = outdir / f"{name}.onnx"
    onnx.save(build_piper_graph(max(1, len(speaker_id_map))), str(model_path))
    config = json.dumps(piper_config(speaker_id_map), indent=2, ensure_ascii=False)
    Path(f"{model_path}.json").write_text(config + "\n", encoding="utf-8")
    return model_path


# --- Entry points --------------------------------------------------------------------------


def make_test_models(outdir: Path) -> None:
    """Write the test Whisper model to ``outdir/stt`` and two Piper voices to ``outdir/tts``."""
    build_whisper(outdir / "stt")
    build_piper_voice(outdir / "tts", "en_US-test-medium", {})
    build_piper_voice(outdir / "tts", "en_US-testmulti-medium", {"alice": 0, "bob": 1})


def main() -> None:
    """Command line entry point: ``make_test_models.py OUTDIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="directory to write stt/ and tts/ into")
    args = parser.parse_args()
    make_test_models(args.outdir)
    print(f"test models written to {args.outdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
