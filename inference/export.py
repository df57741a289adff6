"""Export a checkpoint as a Hugging Face Llama model that `vllm serve` can load.

The export is the *dense* model: same weights, `LlamaForCausalLM` names, tied embeddings,
rotary with `rope_theta`, and the tokenizer with `<|end|>` as end of sequence. The indexer
is dropped, because vLLM's Llama runs dense attention; serving the top-k selection inside
vLLM needs an out-of-tree model plus a custom sparse attention backend. For prompts within
the model's sparse budget (`top_k`, default 64 tokens) the two are identical; beyond it, the
dense export attends to more keys than the embedded engine does.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from safetensors.torch import save_file
from torch import Tensor

from inference.checkpoint import Checkpoint
from inference.model import ModelConfig
from inference.prompts import END_TOKEN, PAD_TOKEN
from inference.tokenizer import TOKENIZER_FILE


def llama_config(config: ModelConfig, *, end_id: int, pad_id: int) -> dict[str, object]:
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": config.vocab_size,
        "hidden_size": config.d_model,
        "intermediate_size": config.ffn_hidden,
        "num_hidden_layers": config.n_layers,
        "num_attention_heads": config.n_heads,
        "num_key_value_heads": config.n_kv_heads,
        "head_dim": config.head_dim,
        "max_position_embeddings": config.max_seq_len,
        "rms_norm_eps": config.norm_eps,
        "rope_theta": config.rope_base,
        "hidden_act": "silu",
        "tie_word_embeddings": True,
        "attention_bias": False,
        "mlp_bias": False,
        "bos_token_id": None,
        "eos_token_id": end_id,
        "pad_token_id": pad_id,
        "torch_dtype": "float32",
    }


def llama_state_dict(checkpoint: Checkpoint) -> dict[str, Tensor]:
    """Our parameter names mapped onto Hugging Face Llama's (indexer weights left out)."""
    config = checkpoint.model.config
    kv_dim = config.n_kv_heads * config.head_dim
    source = checkpoint.model.state_dict()
    state = {
        "model.embed_tokens.weight": source["embed.weight"],
        "model.norm.weight": source["norm.weight"],
    }
    for i in range(config.n_layers):
        ours, theirs = f"blocks.{i}.", f"model.layers.{i}."
        key_value = source[ours + "attn.wkv.weight"]
        gate, up = source[ours + "gate_up.weight"].chunk(2, dim=0)
        state |= {
            theirs + "input_layernorm.weight": source[ours + "attn_norm.weight"],
            theirs + "post_attention_layernorm.weight": source[ours + "ffn_norm.weight"],
            theirs + "self_attn.q_proj.weight": source[ours + "attn.wq.weight"],
            theirs + "self_attn.k_proj.weight": key_value[:kv_dim],
            theirs + "self_attn.v_proj.weight": key_value[kv_dim:],
            theirs + "self_attn.o_proj.weight": source[ours + "attn.wo.weight"],
            theirs + "mlp.gate_proj.weight": gate,
            theirs + "mlp.up_proj.weight": up,
            theirs + "mlp.down_proj.weight": source[ours + "down.weight"],
        }
    return {name: tensor.detach().contiguous().clone() for name, tensor in state.items()}


def export_llama(checkpoint: Checkpoint, directory: Path, *, source: Path | None = None) -> Path:
    """Write config.json, model.safetensors and tokenizer files under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = checkpoint.tokenizer
    config = llama_config(checkpoint.model.config, end_id=tokenizer.end_id, pad_id=tokenizer.pad_id)
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    generation = {"eos_token_id": tokenizer.end_id, "pad_token_id": tokenizer.pad_id}
    (directory / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")
    save_file(
        llama_state_dict(checkpoint),
        str(directory / "model.safetensors"),
        metadata={"format": "pt"},
    )
    if source is not None:
        shutil.copyfile(source / TOKENIZER_FILE, directory / TOKENIZER_FILE)
    else:
        tokenizer.save(directory)
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": END_TOKEN,
        "pad_token": PAD_TOKEN,
        "model_max_length": checkpoint.model.config.max_seq_len,
        "clean_up_tokenization_spaces": False,
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")
    return directory
