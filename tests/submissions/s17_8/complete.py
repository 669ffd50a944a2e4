# %% ex1_P_y_answer
P_y = [(y == 0).sum().item() / 4, (y == 1).sum().item() / 4]  # a list is fine where an array is asked
# %% ex1_P_xy_answer
Xf = X.astype('float32')
P_xy = np.stack([Xf[y == 0].mean(axis=0), Xf[y == 1].mean(axis=0)], axis=1)
# %% ex1_nb_posteriors_answer
import math

def nb_posteriors(X, y):
    Xn, yn = X.asnumpy(), y.asnumpy()
    n, d = Xn.shape
    out = []
    for j in range(n):
        scores = []
        for c in (0, 1):
            rows = Xn[yn == c]
            p = len(rows) / n
            for i in range(d):
                p_on = rows[:, i].mean()
                p *= p_on if Xn[j, i] == 1 else 1 - p_on
            scores.append(p)
        total = scores[0] + scores[1]
        out.append([scores[0] / total, scores[1] / total])
    return out
# %% ex1_posteriors_answer
posteriors = np.array(nb_posteriors(X, y))
# %% ex1_classifies_correctly_answer
classifies_correctly = "no"
# %% ex1_assumption
Naive Bayes assumes that x1 and x2 are independent once we know the label. In XOR, if y = 0 the two
features are equal and if y = 1 they differ, so given y one feature tells you the other. Every P(x_i = 1 | y)
is 1/2 and the priors are 1/2, so every point gets posterior 1/2 for both classes and the classifier is a coin flip.
# %% ex2_unseen_value
The estimate for the unseen value is 0 for every class, so the product p(x|y)p(y) is 0 for all classes and
the normalized posterior is 0/0 = NaN. With logs every class scores -inf, and argmax just returns the
first class, whatever the other features say.
# %% ex3_dependence
If x2 depends on x1 and y, the model is p(y) p(x1|y) p(x2|x1,y). From the data p(x2|x1,y) is 1 exactly
when x2 = x1 XOR y. So for each point only the true label has nonzero probability and the posterior of
the right class is 1 for all four points.
