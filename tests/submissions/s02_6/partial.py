# %% ex1_die_estimates_answer
def die_estimates(m, n, seed):
    npx.random.seed(seed)
    counts = np.random.multinomial(n, fair_probs, size=m)
    return counts.astype(np.float32) / n  # the estimate of each group alone, not cumulative
# %% ex1_final_std_answer
def final_std(m, n):
    p = 1 / 6
    return (p * (1 - p) / (m * n)) ** 0.5
# %% ex2_union_bounds_answer
def union_bounds(pA, pB):
    return (max(pA, pB), pA + pB)  # can exceed 1
# %% ex2_intersection_bounds_answer
def intersection_bounds(pA, pB):
    return (max(0, pA + pB - 1), min(pA, pB))
# %% ex3_markov_joint_answer
def markov_joint(pA, pB_given_A, pC_given_B):
    # forgets P(A): this is P(B, C | A)
    return pB_given_A.reshape(pB_given_A.shape + (1,)) * pC_given_B.reshape((1,) + pC_given_B.shape)
# %% ex3_formula
P(A,B,C) = P(A) P(B|A) P(C|B)
# %% ex4_post_both_answer
post_both = 0.0015 * 0.98 / (0.0015 * 0.98 + 0.9985 * 0.01 * 0.03)
# %% ex4_post_twice_indep_answer
post_twice_indep = 0.0015 / (0.0015 + 0.9985 * 0.01)  # the error rate counted once
# %% ex4_post_twice_dep_answer
post_twice_dep = 0.1306
# %% ex4_why
Because test 1 is the more accurate test, running it twice would be better.
