# %% ex1_integral1_answer
integral1 = math.log(2)  # F(x) = log x
# %% ex2_integral2_answer
# u = x², du = 2x dx: (1/2) ∫_0^π sin(u) du = (1/2)(−cos π + cos 0)
integral2 = np.array(0.5 * (1 - math.cos(math.pi)))
# %% ex3_integral3_answer
integral3 = (1 / 2) * (1 / 2)
# %% ex4_iterated_dy_dx_answer
# inner: with u = x² + y², ∫_0^1 f dy = [x y² / (2 (x² + y²)²)]_0^1 = x / (2 (x² + 1)²)
# outer: ∫_0^2 x / (2 (x² + 1)²) dx = [-1 / (4 (x² + 1))]_0^2 = 1/4 - 1/20
iterated_dy_dx = 1 / 4 - 1 / 20
# %% ex4_iterated_dx_dy_answer
# inner: ∫_0^2 f dx = [-x² y / (2 (x² + y²)²)]_0^2 = -2y / (4 + y²)²
# outer: ∫_0^1 -2y / (4 + y²)² dy = [1 / (4 + y²)]_0^1 = 1/5 - 1/4
iterated_dx_dy = 1 / 5 - 1 / 4
# %% ex4_why_different
Fubini's theorem needs ∫∫|f| to be finite, e.g. f continuous on the closed rectangle. This f blows up at the corner (0, 0): in polar coordinates f·r = sin(4θ)/(4r), so ∫∫|f| diverges; the positive part (x > y) and the negative part (x < y) are both infinite, and each order of integration cancels them differently.
