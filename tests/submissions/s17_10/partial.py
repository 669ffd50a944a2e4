# %% ex1_entropy_answer
def entropy(p):
    return float(-(p * np.log2(p)).sum())  # 0 * log2(0) = nan when some p is 0
# %% ex1_card_bits_answer
import math
card_bits = np.log2(np.array([1, 4, 52, math.factorial(52)]))  # 52! overflows float32: inf
# %% ex2_monkey_bits_answer
monkey_bits = math.log2(44)
# %% ex2_typesetter_bits_per_word_answer
typesetter_bits_per_word = math.log2(2000)
# %% ex2_typesetter_bits_per_char_answer
typesetter_bits_per_char = math.log2(2000) / 5.5  # counts the space after each word
# %% ex2_lm_bits_per_char_answer
lm_bits_per_char = math.log2(15)
# %% ex3_mutual_information
Knowing Y reduces the uncertainty of X. I(X,Y) = H(X) + H(Y) - H(X,Y) and H(X|Y) = H(X,Y) - H(Y), so it follows.
# %% ex4_kl_gauss_answer
def kl_gauss(mu1, sigma1, mu2, sigma2):
    return math.log(sigma1 / sigma2) + (sigma2**2 + (mu1 - mu2)**2) / (2 * sigma1**2) - 0.5  # D(Q||P)
