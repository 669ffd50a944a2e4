# %% ex1_most_missing_answer
missing_counts = data.isna().sum()
print(missing_counts)
most_missing = missing_counts.idxmax()
# %% ex1_drop_most_missing_answer
def drop_most_missing(df):
    # count() gives the non-missing entries; the fewest present means the most missing.
    # idxmin keeps the first (leftmost) column on a tie.
    counts = df.count()
    return df.drop(columns=[counts.idxmin()])
# %% ex2_to_tensor_answer
def to_tensor(inputs):
    numeric = inputs.select_dtypes(include='number')
    filled = inputs.copy()
    filled[numeric.columns] = numeric.fillna(numeric.mean())
    encoded = pd.get_dummies(filled, dummy_na=True)
    return np.array(encoded.astype('float64').values)  # float64 tensor: also allowed
# %% ex2_X_answer
inputs = drop_most_missing(data).drop(columns='Price')
X = to_tensor(inputs)
X.shape
# %% ex2_y_answer
y = np.array(data['Price'].values)  # int64 prices, as in the book
