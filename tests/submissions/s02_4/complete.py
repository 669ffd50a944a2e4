# %% ex1_tangent_at_1_answer
# f'(x) = 3x^2 + 1/x^2, so f'(1) = 4; f(1) = 0, and the line through (1, 0) with slope 4 is y = 4x - 4
tangent_at_1 = [4, -4]
# %% ex1_tangent_line_answer
def tangent_line(x0):
    x = np.array(x0)
    x.attach_grad()
    with autograd.record():
        y = f(x)
    y.backward()
    slope = x.grad
    return np.stack([slope, y - slope * x])  # an array of shape (2,)
# %% ex1_plot_answer
from matplotlib import pyplot as plt

k, c = tangent_at_1
for xs in (np.linspace(-3, -0.25, 100), np.linspace(0.25, 3, 100)):
    plt.plot(xs.asnumpy(), f(xs).asnumpy(), 'b-')
xs = np.linspace(-3, 3, 10)
plt.plot(xs.asnumpy(), (k * xs + c).asnumpy(), 'r--', label='tangent at x=1')
plt.ylim(-15, 15)
plt.legend(['f(x), x < 0', 'f(x), x > 0', 'tangent at x=1'])
plt.show()
# %% ex1_figure
The blue curve is f on both sides of x = 0 (it has a pole there). The dashed red line y = 4x - 4
touches the curve at (1, 0), where it has the same slope as f.
# %% ex2_grad_f_answer
import math

def grad_f(x):
    x1, x2 = float(x[0]), float(x[1])
    return [6 * x1, 5 * math.exp(x2)]  # a list of two floats
# %% ex3_grad_norm_answer
def grad_norm(x):
    # differentiate with autograd instead of by hand
    x = x.copy()
    x.attach_grad()
    with autograd.record():
        n = np.sqrt((x * x).sum())
    n.backward()
    return x.grad
# %% ex4_chain_rule_answer
def chain_rule(du_dxyz, dxyz_dab):
    # du/da = du/dx dx/da + du/dy dy/da + du/dz dz/da, and the same for b
    return (du_dxyz.reshape(3, 1) * dxyz_dab).sum(axis=0)
# %% ex4_du_dab_answer
def du_dab(a, b):
    x, y, z = x_fn(a, b), y_fn(a, b), z_fn(a, b)
    du_dxyz = np.array([2 * x * y, x ** 2, np.exp(z)])
    dxyz_dab = np.array([[b, a], [1.0, 2 * b], [1.0, -1.0]])
    return chain_rule(du_dxyz, dxyz_dab)
