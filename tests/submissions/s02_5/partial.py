# %% ex1_why
Because you have to differentiate two times, so it takes twice the work.
# %% ex2_second_raises_answer
second_raises = "MXNetError"  # the error's name where a bool is asked
# %% ex2_grad_after_two_answer
x = np.arange(4.0)
x.attach_grad()
with autograd.record():
    y = 2 * np.dot(x, x)
y.backward(retain_graph=True)
y.backward()
grad_after_two = x.grad
# %% ex2_grad_after_two_add_answer
grad_after_two_add = 4 * np.arange(4.0)  # assumed, not run: with 'add' the two passes add up to 8x
# %% ex3_d_shape_answer
d_shape = (3, 4)
# %% ex3_control_flow_grad_answer
def control_flow_grad(a):
    # treats f as if it were applied to each entry on its own
    grads = []
    for v in a.reshape(-1):
        v = v.copy()
        v.attach_grad()
        with autograd.record():
            d = f(v)
        d.backward()
        grads.append(float(v.grad))
    return np.array(grads).reshape(a.shape)
# %% ex3_analysis
backward sums d, so a.grad is the gradient of the sum.
# %% ex4_g_answer
def g(a):
    b = a ** 2
    while b.sum() < 10:
        b = b * 3
    if a.sum() > 0:
        return (b * a).sum()
    else:
        return b.sum()
# %% ex4_grad_g_answer
def grad_g(a):
    return g(a) / a  # the book's check for f, which does not hold for g
# %% ex4_analysis
The gradient is different in each branch.
# %% ex5_sin_grad_answer
def sin_grad(x):
    h = 1e-3
    return (np.sin(x + h) - np.sin(x)) / h  # forward difference: not precise enough
# %% ex5_plot_answer
from matplotlib import pyplot as plt

xs = np.arange(-6, 6, 0.1)
plt.plot(xs.asnumpy(), np.sin(xs).asnumpy())
plt.plot(xs.asnumpy(), sin_grad(xs).asnumpy())
plt.show()
# %% ex5_figure
Two waves.
