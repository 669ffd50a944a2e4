# %% ex1_random_names_answer
candidates = ["normal", "uniform", "multinomial", "shuffle", "choice", "randn",
              "seed", "binomial", "poisson", "permutation"]
random_names = [name for name in candidates if name in dir(np.random)]  # a list is fine
# %% ex1_ones_dtype_answer
help(np.ones)
ones_dtype = "Float32 "  # case and spaces are ignored
# %% ex1_normal_params_answer
import inspect
normal_params = set(inspect.signature(np.random.normal).parameters)
# %% ex1_seed_function_answer
print(hasattr(np.random, "seed"), hasattr(npx.random, "seed"), hasattr(np, "seed"))
seed_function = "mxnet.npx.random.seed"
# %% ex1_lookup
I looked up `npx.relu` with `help(npx.relu)`: it applies the rectified linear unit max(x, 0) to every
entry of the input array and returns an array of the same shape; its parameters are the input `data`
and optional `out` and `name`. On the website it is under mxnet.apache.org, API, Python, npx
(https://mxnet.apache.org/versions/1.9.1/api/python/docs/api/npx/generated/mxnet.npx.relu.html). The
page has the same text but is easier to browse, and lists the other activation functions next to it.
