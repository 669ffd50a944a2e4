# %% ex1_entropy_answer
def entropy(p):
    p = p[p > 0]  # 0 log 0 = 0: drop the zeros
    return -(p * np.log2(p)).sum()  # a 0-d array
# %% ex1_card_bits_answer
import math
deck = sum(math.log2(i) for i in range(1, 53))  # log2(52!) without forming 52!
card_bits = [0.0, math.log2(4), math.log2(52), deck]
# %% ex2_monkey_bits_answer
monkey_bits = math.log2(44)
# %% ex2_typesetter_bits_per_word_answer
typesetter_bits_per_word = np.log2(np.array(2000.0))
# %% ex2_typesetter_bits_per_char_answer
typesetter_bits_per_char = math.log2(2000) / 4.5
# %% ex2_lm_bits_per_char_answer
lm_bits_per_char = math.log(15) / math.log(2)
# %% ex3_mutual_information
H(X) is the uncertainty about X, H(X|Y) the uncertainty left once we know Y, so the difference is how
much knowing Y tells us about X. Both are expectations over the joint distribution:
H(X) - H(X|Y) = E[-log p(x) + log p(x|y)] = E[log p(x|y)/p(x)] = E[log p(x,y)/(p(x)p(y))] = I(X,Y),
where H(X) = -E_x[log p(x)] can be taken over (x, y) because log p(x) does not depend on y.
# %% ex4_kl_gauss_answer
def kl_gauss(mu1, sigma1, mu2, sigma2):
    # E_P[log p - log q] = log(s2/s1) - 1/2 + (s1^2 + (mu1 - mu2)^2) / (2 s2^2)
    return math.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2)**2) / (2 * sigma2**2) - 0.5
