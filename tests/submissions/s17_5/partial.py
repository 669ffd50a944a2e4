# %% ex1_integral1_answer
integral1 = math.log(2)
# %% ex2_integral2_answer
# u = x², but forgets to change the limits: (1/2) ∫_0^√π sin(u) du
integral2 = 0.5 * (1 - math.cos(math.sqrt(math.pi)))
# %% ex3_integral3_answer
integral3 = 0.25
# %% ex4_iterated_dy_dx_answer
iterated_dy_dx = 1 / 4 - 1 / 20
# %% ex4_iterated_dx_dy_answer
iterated_dx_dy = 1 / 4 - 1 / 20  # assumes the order does not matter (Fubini)
# %% ex4_why_different
The two numbers differ because of rounding errors in the numerical integration.
