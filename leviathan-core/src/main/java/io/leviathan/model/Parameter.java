package io.leviathan.model;

import io.leviathan.tensor.Tensor;

/**
 * A trainable tensor, its gradient (same shape) and whether AdamW applies weight decay to it.
 *
 * @param name the Hugging Face LLaMA name (e.g. {@code model.layers.0.self_attn.q_proj.weight}); the
 *     generator's tensors are {@code model.generator.*}
 * @param value the weights
 * @param grad the gradient, accumulated by backward passes and zeroed by {@link ParameterStore#zeroGrads}
 * @param decay whether decoupled weight decay applies
 */
public record Parameter(String name, Tensor value, Tensor grad, boolean decay) {}
