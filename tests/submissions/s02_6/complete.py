# %% ex1_die_estimates_answer
def die_estimates(m, n, seed):
    npx.random.seed(seed)
    counts = np.random.multinomial(n, fair_probs, size=m)
    cum_counts = counts.astype(np.float32).cumsum(axis=0)
    # every row sums to (i + 1) * n rolls
    rolls = (np.arange(1, m + 1) * n).reshape(m, 1)
    return cum_counts / rolls
# %% ex1_final_std_answer
import math

def final_std(m, n):
    # the last row counts m * n rolls; a frequency of N rolls has variance p (1 - p) / N
    p = 1 / 6
    return math.sqrt(p * (1 - p) / (m * n))
# %% ex2_union_bounds_answer
def union_bounds(pA, pB):
    return [max(pA, pB), min(1.0, pA + pB)]
# %% ex2_intersection_bounds_answer
def intersection_bounds(pA, pB):
    return (max(0.0, pA + pB - 1), min(pA, pB))
# %% ex3_markov_joint_answer
def markov_joint(pA, pB_given_A, pC_given_B):
    a, b = pB_given_A.shape
    c = pC_given_B.shape[1]
    joint = np.zeros((a, b, c))
    for i in range(a):
        for j in range(b):
            joint[i, j, :] = pA[i] * pB_given_A[i, j] * pC_given_B[j, :]
    return joint
# %% ex3_formula
P(A, B, C) = P(A) P(B | A) P(C | A, B) by the multiplication rule, and since C only depends on B,
P(C | A, B) = P(C | B). So P(A, B, C) = P(A) P(B | A) P(C | B).
# %% ex4_post_both_answer
p_h = 0.0015
num = p_h * 1.0 * 0.98
den = num + (1 - p_h) * 0.01 * 0.03
post_both = num / den
print(post_both)
# %% ex4_post_twice_indep_answer
post_twice_indep = np.array(0.0015 / (0.0015 + 0.9985 * 0.01 ** 2))  # a 0-d array is fine
# %% ex4_post_twice_dep_answer
post_twice_dep = 0.0015 / (0.0015 + 0.9985 * 0.01)
# %% ex4_why
If the two runs of test 1 were independent we would get 0.94, more than the 0.83 of test 1 + test 2.
But a second run of the same test on the same person will usually make the same mistake (the false
positive has a cause that is still there), so the errors are not independent. If it just repeats the
first result we learn nothing new and stay at 0.13. Test 2 works differently, so its errors are
independent of test 1's given H, and it brings us to 0.83.
