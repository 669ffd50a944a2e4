# %% ex1_p_gt_2_answer
# P(X > 2) = integral from 2 to infinity of x^-2 dx = [-1/x] from 2 to infinity
p_gt_2 = 1 / 2
# %% ex1_tail_prob_answer
def tail_prob(a):
    # below 1 the density is zero, so all of the mass lies above a
    if a <= 1:
        return 1.0
    return np.array(1.0 / a)  # a 0-d array is fine where a number is asked
# %% ex2_laplace_mean_answer
laplace_mean = 0  # the density is symmetric about 0
# %% ex2_laplace_std_answer
# E[X^2] = 2 * (1/2) * integral_0^inf x^2 e^-x dx = 2, and the mean is 0
laplace_std = np.sqrt(np.array(2.0))
# %% ex3_chebyshev_max_answer
# X > 9 means X - 1 > 8 = 4 standard deviations
chebyshev_max = 1 / 4**2
# %% ex3_believe_answer
believe = " No "
# %% ex3_why
No. Being above 9 means being at least 8 = 4 standard deviations above the mean of 1. Chebyshev says
P(|X - 1| >= 4 * 2) <= 1/16, about 6%, for any distribution with that mean and standard deviation,
so 25% cannot happen.
# %% ex4_e_xy_answer
# E[XY] = integral of 4 x^2 y^2 = 4 * (1/3) * (1/3)
e_xy = 4 / 9
# %% ex4_cov_xy_answer
# E[X] = integral of 4 x^2 y = 2/3, likewise E[Y]; p factors as (2x)(2y): X and Y are independent
cov_xy = e_xy - (2 / 3) * (2 / 3)
