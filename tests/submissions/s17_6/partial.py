# %% ex1_p_gt_2_answer
p_gt_2 = 1 - 1 / 2  # F(2) = 1 - 1/2, so P(X > 2) = 1 - F(2) = 1/2
# %% ex1_tail_prob_answer
def tail_prob(a):
    return 1 / a  # forgets that the density is zero below 1: gives more than 1 for a < 1
# %% ex2_laplace_mean_answer
laplace_mean = 0.0
# %% ex2_laplace_std_answer
laplace_std = 2.0  # the variance, not the standard deviation
# %% ex3_chebyshev_max_answer
chebyshev_max = 1 / 4  # 1/alpha instead of 1/alpha**2, with alpha = 4
# %% ex3_believe_answer
believe = "no"
# %% ex3_why
I don't believe it because 9 is very far from the mean, 4 standard deviations, and for a normal
distribution almost nothing is that far out.
# %% ex4_e_xy_answer
e_xy = 4 / 9
# %% ex4_cov_xy_answer
cov_xy = 4 / 9 - 1 / 4  # uses E[X] = 1/2, the mean of a uniform variable
