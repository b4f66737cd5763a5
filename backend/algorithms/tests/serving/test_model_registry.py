import pytest

from algorithms.errors import AlgorithmInputError
from algorithms.model_registry import default_registry, model_resolve, name_key


@pytest.mark.parametrize(
    ("spelling", "model_id"),
    [
        ("llama-3.3-70b", "llama-3.3-70b"),
        ("Llama 3.3 70B", "llama-3.3-70b"),
        ("meta-llama/Llama-3.3-70B-Instruct", "llama-3.3-70b"),
        ("Llama 3 70B", "llama-3-70b"),
        ("meta-llama/Meta-Llama-3-70B-Instruct", "llama-3-70b"),
        ("qwen2.5-72b-instruct", "qwen2.5-72b"),
        ("Qwen/Qwen2.5-72B-Instruct", "qwen2.5-72b"),
        ("mixtral 8x7b", "mixtral-8x7b"),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b"),
        ("llama3.1:405b", "llama-3.1-405b"),
        ("deepseek-ai/DeepSeek-R1", "deepseek-r1"),
        ("DeepSeek-R1-Distill-Llama-70B", "deepseek-r1-distill-llama-70b"),
        ("qwen3:30b-a3b", "qwen3-30b-a3b"),
        ("google/gemma-3-27b-it", "gemma-3-27b"),
        ("microsoft/phi-4", "phi-4"),
        ("Mistral-Nemo-Instruct-2407", "mistral-nemo-12b"),
    ],
)
def test_spellings_resolve_to_the_registry_entry(spelling, model_id):
    model = model_resolve(spelling)
    assert model.id == model_id
    assert model.is_estimated is False


def test_name_key_drops_organisation_variant_words_and_separators():
    assert name_key("meta-llama/Meta-Llama-3-70B-Instruct") == "llama370b"
    assert name_key("Llama 3 70B") == "llama370b"
    assert name_key("llama3:70b") == "llama370b"


def test_mixture_of_experts_totals_and_active_parameters_are_the_published_ones():
    assert (
        model_resolve("deepseek-v3").params_billion,
        model_resolve("deepseek-v3").active_params_billion,
    ) == (671.0, 37.0)
    mixtral = model_resolve("mixtral-8x7b")
    assert (mixtral.params_billion, mixtral.active_params_billion) == (46.7, 12.9)
    assert (mixtral.experts_total, mixtral.experts_per_token) == (8, 2)
    qwen = model_resolve("qwen3-235b-a22b")
    assert (qwen.params_billion, qwen.active_params_billion, qwen.kv_heads) == (235.09, 22.0, 4)


def test_deepseek_caches_the_mla_latent_replicated_over_tensor_parallel():
    model = model_resolve("deepseek-r1")
    assert model.kv_elements_per_token_per_layer == 576
    assert model.kv_replicated_across_tensor_parallel is True
    assert model.kv_bytes_per_token(1.0) == 61 * 576


def test_gqa_kv_cache_per_token_follows_config_json():
    model = model_resolve("llama-3.1-70b")
    assert (model.layers, model.attention_heads, model.kv_heads, model.head_dim) == (80, 64, 8, 128)
    assert model.kv_bytes_per_token(2.0) == 2 * 80 * 8 * 128 * 2


def test_every_registry_entry_is_sourced_and_consistent():
    registry = default_registry()
    assert len(registry.models) >= 45
    for model in registry.models:
        assert all(url.startswith("https://huggingface.co/") for url in model.sources), model.id
        assert model.attention_heads % model.kv_heads == 0, model.id
        assert 0 < model.active_params_billion <= model.params_billion, model.id
        assert model.max_context is not None, model.id
        assert model.max_context >= 4096, model.id
    families = {model.id.split("-")[0] for model in registry.models}
    assert {
        "llama",
        "qwen2.5",
        "qwen3",
        "deepseek",
        "mistral",
        "mixtral",
        "gemma",
        "phi",
    } <= families


def test_unknown_name_with_a_size_is_an_estimated_dense_model():
    model = model_resolve("my-finetune-13b")
    assert model.is_estimated is True
    assert model.params_billion == 13.0
    assert model.active_params_billion == 13.0
    assert (model.layers, model.hidden_size, model.kv_heads, model.head_dim) == (41, 5120, 8, 128)
    assert "13B parameters, dense" in model.estimation_note
    assert model.max_context is None
    assert model.sources == ()


def test_unknown_moe_name_takes_total_as_upper_bound_and_top2_active():
    model = model_resolve("custom-8x7b")
    assert (model.params_billion, model.active_params_billion) == (56.0, 14.0)
    assert (model.experts_total, model.experts_per_token) == (8, 2)
    assert "upper bound" in model.estimation_note


def test_sizes_in_millions_are_read():
    assert model_resolve("tiny-125m").params_billion == 0.125


@pytest.mark.parametrize("name", ["gpt-foo", "", "   ", "model-0b", "-7b", "huge-5000b"])
def test_names_without_a_usable_size_are_rejected_naming_the_field(name):
    with pytest.raises(AlgorithmInputError) as error:
        model_resolve(name)
    assert error.value.field == "model"


def test_non_string_names_are_rejected():
    with pytest.raises(AlgorithmInputError):
        model_resolve(70)  # type: ignore[arg-type]
