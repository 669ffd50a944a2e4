# %% ex1_why
To get the gradient, backprop needs one backward pass that reuses the values stored during the forward
pass. For the second derivative we have to differentiate the backward pass itself, so it has to be
recorded as a graph too (more memory, a bigger graph). Also the second derivative of a function of n
parameters is an n x n Hessian: each extra backward pass only gives one row (a Hessian-vector product),
so we need about n passes instead of one.
# %% ex2_second_raises_answer
try:
    y.backward()
    second_raises = False
except Exception as e:
    print(type(e).__name__)
    second_raises = True
# %% ex2_grad_after_two_answer
x = np.arange(4.0)
x.attach_grad()
with autograd.record():
    y = 2 * np.dot(x, x)
y.backward(retain_graph=True)
y.backward()
grad_after_two = x.grad.asnumpy()  # a NumPy array is fine too
# %% ex2_grad_after_two_add_answer
x = np.arange(4.0)
x.attach_grad(grad_req='add')
with autograd.record():
    y = 2 * np.dot(x, x)
y.backward(retain_graph=True)
y.backward()
grad_after_two_add = x.grad
# %% ex3_d_shape_answer
a = np.random.normal(size=(3, 4))
d_shape = list(f(a).shape)  # a list of ints is accepted as a shape
# %% ex3_control_flow_grad_answer
def control_flow_grad(a):
    a = a.copy()
    a.attach_grad()
    with autograd.record():
        d = f(a)
    d.backward()
    return a.grad
# %% ex3_analysis
d has the same shape as a. backward() on a non-scalar computes the gradient of d.sum(). f is piecewise
linear, f(a) = k * a where k is a single number fixed by the norm of a and the sign of a.sum(), so every
entry of a.grad is k, and a.grad == d / a entrywise.
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
    a = np.array(a)
    a.attach_grad()
    with autograd.record():
        out = g(a)
    out.backward()
    return a.grad
# %% ex4_analysis
No. b = 3^n a^2 after n loops, so g = 3^n sum(a^3) with gradient 3^(n+1) a^2 if sum(a) > 0, and
g = 3^n sum(a^2) with gradient 2 * 3^n a otherwise; g is not k*a, so g(a)/a is not the gradient.
Autograd only sees the operations that ran (n and the branch fixed) and differentiates those.
# %% ex5_sin_grad_answer
def sin_grad(x):
    x = x.copy()
    x.attach_grad()
    with autograd.record():
        y = np.sin(x)
    y.backward()  # gradient of y.sum(): one derivative per entry
    return x.grad
# %% ex5_plot_answer
from matplotlib import pyplot as plt
import math

xs = np.linspace(-2 * math.pi, 2 * math.pi, 100)
plt.plot(xs.asnumpy(), np.sin(xs).asnumpy(), label='sin(x)')
plt.plot(xs.asnumpy(), sin_grad(xs).asnumpy(), label='d sin(x)/dx by autograd')
plt.legend()
plt.show()
# %% ex5_figure
The derivative looks like sin shifted to the left by pi/2: it is zero at the tops and bottoms of sin
and largest where sin goes up the steepest.
