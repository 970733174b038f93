"""Convert a sentence-transformers BERT checkpoint (all-MiniLM-L6-v2) into a GGUF llama.cpp embeds with.

llama.cpp's ``bert`` architecture wants: the HF tensors renamed to its scheme (``token_embd``,
``blk.N.attn_q`` …; the mapping is the ``gguf`` package's own table), a WordPiece vocabulary stored
"phantom-space" style (word-initial pieces get a leading ``▁``, ``##`` continuation pieces lose their
prefix, control tokens stay as they are), non-causal attention, and the pooling the sentence-transformers
model uses (mean for MiniLM). Sentence-transformers then L2-normalises; the provider does that too.

Weights stay float32 (89 MB): the model is small and this keeps vectors within float rounding of the
PyTorch reference. Only numpy, ``safetensors`` (numpy API) and ``gguf`` are needed, no torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ModelError

CONVERTER_VERSION = "1"
"""Bumped when the output changes, so cached conversions get rebuilt."""

_DROPPED = ("embeddings.position_ids", "pooler.")


def _json(files: Mapping[str, bytes], name: str, default: Any = None) -> Any:
    if name not in files:
        if default is not None:
            return default
        raise ModelError(f"sentence-transformers checkpoint lacks {name}")
    return json.loads(files[name].decode("utf-8"))


def _special_tokens(files: Mapping[str, bytes]) -> set[str]:
    """Tokens the HF tokenizer marks special (they are CONTROL tokens in GGUF)."""
    special: set[str] = set()
    tok = _json(files, "tokenizer.json", default={})
    for added in tok.get("added_tokens", []):
        if added.get("special"):
            special.add(added["content"])
    cfg = _json(files, "tokenizer_config.json", default={})
    for key in ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
        if isinstance(cfg.get(key), str):
            special.add(cfg[key])
    return special


def _pooling(files: Mapping[str, bytes]) -> int:
    import gguf

    cfg = _json(files, "1_Pooling/config.json", default={"pooling_mode_mean_tokens": True})
    if cfg.get("pooling_mode_mean_tokens"):
        return int(gguf.PoolingType.MEAN)
    if cfg.get("pooling_mode_cls_token"):
        return int(gguf.PoolingType.CLS)
    raise ModelError(
        f"unsupported sentence-transformers pooling {cfg}; only mean and CLS pooling map to GGUF"
    )


def convert_sentence_bert(files: Mapping[str, bytes], dest: Path, *, name: str) -> None:
    """Write ``dest`` (GGUF, arch ``bert``) from checkpoint ``files`` keyed by their path in the model dir.

    Needs ``model.safetensors``, ``config.json``, ``vocab.txt``; uses ``tokenizer.json``,
    ``tokenizer_config.json`` and ``1_Pooling/config.json`` when present.
    """
    try:
        import gguf
        import numpy as np
        from safetensors.numpy import load as load_safetensors
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ModelError("converting embeddings needs the local extra: pip install 'elizapy[local]'") from exc

    config = _json(files, "config.json")
    if config.get("model_type") != "bert":
        kind = config.get("model_type")
        raise ModelError(f"expected a BERT checkpoint, config.json says model_type={kind!r}")
    vocab = files["vocab.txt"].decode("utf-8").split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    n_vocab = int(config["vocab_size"])
    if len(vocab) != n_vocab:
        raise ModelError(f"vocab.txt has {len(vocab)} tokens, config.json says {n_vocab}")
    special = _special_tokens(files)
    lookup = {tok: i for i, tok in enumerate(vocab)}

    tokens: list[str] = []
    types: list[int] = []
    for tok in vocab:
        if tok in special:
            tokens.append(tok)
            types.append(int(gguf.TokenType.CONTROL))
        else:
            tokens.append(tok[2:] if tok.startswith("##") else "\u2581" + tok)
            types.append(int(gguf.TokenType.NORMAL))

    tok_cfg = _json(files, "tokenizer_config.json", default={})

    def token_id(key: str, fallback: str) -> int:
        tok = tok_cfg.get(key) if isinstance(tok_cfg.get(key), str) else fallback
        if tok not in lookup:
            raise ModelError(f"special token {tok!r} ({key}) is not in vocab.txt")
        return lookup[tok]

    n_layers = int(config["num_hidden_layers"])
    tensors = load_safetensors(files["model.safetensors"])
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layers)

    writer = gguf.GGUFWriter(str(dest), arch=gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    try:
        writer.add_name(name)
        writer.add_file_type(int(gguf.LlamaFileType.ALL_F32))
        writer.add_context_length(int(config["max_position_embeddings"]))
        writer.add_embedding_length(int(config["hidden_size"]))
        writer.add_feed_forward_length(int(config["intermediate_size"]))
        writer.add_block_count(n_layers)
        writer.add_head_count(int(config["num_attention_heads"]))
        writer.add_layer_norm_eps(float(config.get("layer_norm_eps", 1e-12)))
        writer.add_causal_attention(False)
        writer.add_pooling_type(gguf.PoolingType(_pooling(files)))

        writer.add_tokenizer_model("bert")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        writer.add_token_type_count(int(config.get("type_vocab_size", 1)))
        cls_id, sep_id = token_id("cls_token", "[CLS]"), token_id("sep_token", "[SEP]")
        # [CLS] text [SEP], as the HF post-processor builds it: llama.cpp's bos/eos play cls/sep.
        writer.add_bos_token_id(cls_id)
        writer.add_eos_token_id(sep_id)
        writer.add_sep_token_id(sep_id)
        writer.add_unk_token_id(token_id("unk_token", "[UNK]"))
        writer.add_pad_token_id(token_id("pad_token", "[PAD]"))
        writer.add_mask_token_id(token_id("mask_token", "[MASK]"))
        writer.add_add_bos_token(True)
        writer.add_add_eos_token(True)

        for hf_name, array in tensors.items():
            if hf_name.startswith(_DROPPED):
                continue
            gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
            if gguf_name is None:
                raise ModelError(f"no llama.cpp BERT tensor for checkpoint tensor {hf_name!r}")
            writer.add_tensor(gguf_name, np.ascontiguousarray(array, dtype=np.float32))

        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file(progress=False)
    finally:
        writer.close()


__all__ = ["CONVERTER_VERSION", "convert_sentence_bert"]
