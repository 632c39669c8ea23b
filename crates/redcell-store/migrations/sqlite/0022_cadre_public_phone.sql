-- The work phone a cadre (a grid worker, a stationed cadre) agreed to have
-- published on the public pages and the grid's board. Separate from `phone`
-- (personal data, masked and shown only in scope); NULL: nothing published.
ALTER TABLE cadres ADD COLUMN public_phone TEXT;
