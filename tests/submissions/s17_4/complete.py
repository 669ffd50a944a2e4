# %% ex1_df_beta_answer
def df_beta(x, beta):
    # f(x) = sum_i beta_i x_i, so df/dx_i = beta_i whatever x is
    return beta * 1.0
# %% ex1_dg_beta_answer
def dg_beta(x, beta):
    # checked with autograd on the notebook's g
    x = x.copy()
    x.attach_grad()
    with autograd.record():
        y = g(x, beta)
    y.backward()
    return x.grad
# %% ex1_why
x^T beta^T = (beta x)^T, and beta x is a 1x1 matrix, which equals its transpose. So g(x) = f(x) = sum_i beta_i x_i for every x, and the two functions have the same derivative, beta^T.
# %% ex2_grad_norm_answer
def grad_norm(v):
    return v / np.sqrt((v * v).sum())
# %% ex3_grad_L_answer
import math
def grad_L(x, y):
    # softmax of (x, y), written with exp(-|x - y|) so nothing overflows
    if x >= y:
        e = math.exp(y - x)
        return [1 / (1 + e), e / (1 + e)]
    e = math.exp(x - y)
    return [e / (1 + e), 1 / (1 + e)]
# %% ex3_grad_sum_answer
grad_sum = 1
# %% ex4_critical_point_answer
critical_point = (0, 0)
# %% ex4_only_critical_point
∇f = (2xy + y², x² + 2xy) = (y(2x + y), x(x + 2y)). The first is 0 if y = 0 or y = −2x. If y = 0 then x² = 0 so x = 0; if y = −2x then x² − 4x² = −3x² = 0 so x = 0 = y. So (0, 0) is the only critical point.
# %% ex4_point_kind_answer
point_kind = "Neither"
# %% ex5_interpretation
At a critical point ∇g = −∇h: the gradients of g and h have equal length and opposite directions, so the pull of g downhill is exactly balanced by h. Because gradients are normal to level sets, the level curves of g and h through the point are tangent to each other there: any small step that decreases g increases h by the same amount to first order.
