/**
 * What the synthetic complaints are made of: the products, their sub-products, issues and companies,
 * and the sentence templates of the narratives. All text here is written for this project; none of
 * it comes from a real complaint. Company names are invented.
 *
 * Template syntax (expanded by `narrative.ts`):
 * - `[a|b|c]` one alternative, chosen at random;
 * - `@date` a masked date ("XX/XX/XXXX", sometimes "XX/XX/2021"), `@fee` a small amount, `@amt` a
 *   medium amount, `@big` a large amount (amounts as CFPB prints them: "{$35.00}"), `@n` a small count,
 *   `@days` a number of days; "XXXX" is the CFPB mask for names and numbers and is written literally.
 *
 * The products fall into three groups that share vocabulary (credit reports and collections; bank
 * accounts and cards; mortgages and other loans), so a 3-topic NMF finds the groups, while products
 * inside a group overlap and a few sentences cross groups, as in real complaints.
 */

export type Group = 'credit' | 'banking' | 'lending';

export interface IssueSpec {
  issue: string;
  weight: number;
  /** `null` where CFPB has no sub-issue for the issue. */
  subIssues: readonly (string | null)[];
  /** Sentences that state this issue; one or two open the narrative body. */
  lines: readonly string[];
}

export interface ProductSpec {
  product: string;
  group: Group;
  /** Share of the sample (weights are normalised over all products). */
  weight: number;
  subProducts: readonly (readonly [string, number])[];
  companies: readonly string[];
  /** Noun phrases for the opening sentence: "I am writing to file a complaint about <subject>." */
  subjects: readonly string[];
  issues: readonly IssueSpec[];
  /** Body sentences only this product uses. */
  sentences: readonly string[];
}

export const OPENERS: readonly string[] = [
  'I am writing to file a complaint about @subject.',
  'I am filing this complaint because of a serious problem with @subject.',
  'On @date, I discovered a problem with @subject.',
  'I have been dealing with an ongoing issue involving @subject for [several|many|almost @n] months.',
  'This complaint concerns @subject and the way the company has handled it.',
  'I need help resolving a dispute about @subject.',
  'Around @date, I noticed something was wrong with @subject.',
  'To whom it may concern, I am submitting this complaint regarding @subject.',
  'I would like to report how @subject has been handled.',
  'I am contacting the CFPB about @subject because I have not been able to fix this on my own.',
];

export const CLOSERS: readonly string[] = [
  'I am asking the CFPB to help me get this resolved.',
  'Please help me get this issue fixed as soon as possible.',
  'I would like a full explanation and a written response.',
  'I request that the company fix this problem and stop this behavior.',
  'Thank you for your time and assistance with this matter.',
  'I want this resolved fairly, and I want the answer in writing.',
  'I am requesting that the error be corrected and that I be made whole.',
  'I hope the CFPB can hold them accountable for this.',
  'Please investigate this matter and make them correct it.',
];

/** Sentences any product can use: customer service, time, money, frustration. */
export const GENERIC: readonly string[] = [
  'I have called customer service more than @n times and spent hours on the phone.',
  'Every representative I speak with gives me a different answer.',
  'I was promised a call back within @days days, but nobody ever called me.',
  'I asked to speak with a supervisor and was left on hold until the call dropped.',
  'This situation has caused me a great deal of stress, and I have lost sleep over it.',
  'I have sent letters, emails, and faxes, and I still do not have a resolution.',
  'I kept copies of all of my correspondence and can provide them if needed.',
  'On @date, I spoke with a representative named XXXX who told me the issue would be fixed.',
  'I was told the problem would be resolved within one [billing cycle|week|month], but @n months later nothing has changed.',
  'This company has wasted my time and my money.',
  'I am a single parent, and I cannot afford to lose this money.',
  'I am a veteran on a fixed income, and every dollar matters to my family.',
  'When I asked for their answer in writing, they refused to put anything on paper.',
  'I filed a complaint directly with the company on @date and received no response.',
  'The representative hung up on me when I asked for a reference number.',
  'It has now been more than @n months since this problem started.',
  'I am not the only customer with this problem; I have read many similar stories online.',
  'I do not understand how a company can treat its customers this way.',
  'I have attached copies of the documents that support my complaint.',
  'The company sent me a letter on @date that did not address any of my concerns.',
  'Their online chat kept sending me the same scripted replies.',
  'I am asking for help because I have run out of options.',
  'My [husband|wife|daughter|son] and I spent an entire weekend going through our records to prove this.',
  'The people I talked to on the phone did not seem to have any training or authority.',
  'Nobody at the company has taken responsibility for the mistake.',
];

/** Sentences the products of one group share: the vocabulary that makes the group a topic. */
export const GROUP_SENTENCES: Readonly<Record<Group, readonly string[]>> = {
  credit: [
    'The negative item is dragging my credit score down, and I have been denied credit because of it.',
    'I have disputed this item with all three credit bureaus, and each time it comes back as verified.',
    'The information on my credit report is inaccurate, and it does not belong to me.',
    'Under the Fair Credit Reporting Act they must conduct a reasonable investigation, and that did not happen.',
    'The collection account appears on my credit report with a balance of @amt that I do not owe.',
    'I pulled my credit report on @date and found a collection account I had never seen before.',
    'My credit score dropped by nearly [80|100|120] points after this collection was reported.',
    'I sent a dispute letter by certified mail with a copy of my identification and proof of my address.',
    'The bureau responded with a form letter saying the furnisher had verified the information.',
    'I am a victim of identity theft, and I filed a report with the FTC and the local police.',
    'This debt is not mine, and I have never had an account with this creditor.',
    'The collection agency continues to report the debt to the bureaus even though I requested validation.',
    'I applied for an apartment, and the landlord told me my credit report showed an unpaid collection.',
    'The debt is listed twice on my credit report, once by the original creditor and once by the collection agency.',
    'I asked for the method of verification for my dispute and never received it.',
    'The date of first delinquency is wrong, which keeps the collection on my report longer than the law allows.',
    'The creditor and the bureau keep pointing at each other, and the error stays on my credit file.',
  ],
  banking: [
    'The bank charged my account a fee of @fee without any explanation.',
    'I reviewed my monthly statement and found several transactions that I did not make.',
    'I filed a fraud claim, and the bank denied it within a few days without asking me any questions.',
    'The transactions were made in another state while my card was in my wallet.',
    'I asked the bank to reverse the charges and issue a refund, but they refused.',
    'The bank closed my account without notice and will not tell me why.',
    'My online banking access was locked, and I could not see my balance or my transactions.',
    'I have been a customer of this bank for over [ten|fifteen|twenty] years and have never been treated like this.',
    'The branch manager told me there was nothing she could do and that I had to call the fraud department.',
    'The bank sent me a new card, but charges kept posting under the old card number.',
    'The bank said the transactions were authorized because they were made with the chip on my card.',
    'The merchant agreed to a refund, but the credit never posted to my account.',
    'I visited the branch with my receipts and statements, and they still would not help me.',
    'A provisional credit was placed on my account and then reversed without explanation.',
    'The fraud department asked me to fill out an affidavit, and then the bank said it never received it.',
    'The charges on my account ending in XXXX total @amt, and I did not authorize any of them.',
  ],
  lending: [
    'I made every monthly payment on time, yet the servicer says my loan is past due.',
    'The servicer applied my payment to interest and fees instead of the principal balance.',
    'The payoff amount they quoted was much higher than the balance on my last loan statement.',
    'My loan was transferred to a new servicer, and my payment history was lost in the transfer.',
    'The lender never explained how the interest was calculated on my loan.',
    'I requested a copy of my loan agreement and payment history and have not received them.',
    'I set up automatic payments, but the servicer failed to draft the payment for @n months and then charged late fees.',
    'Each time I call, a different representative gives me a different balance for the loan.',
    'I asked the lender for a hardship plan after I lost my job, and they refused to work with me.',
    'My monthly payment went up by @amt without any notice from the servicer.',
    'The principal balance on my loan has barely changed even though I have been paying for years.',
    'The loan documents show terms that are different from what the loan officer promised me.',
    'I overpaid on my loan, and the lender will not refund the extra money.',
    'The servicer keeps losing the paperwork I send about my loan and asks me to send it again.',
    'My loan servicer added interest and late charges for a payment period that I had already paid.',
  ],
};

export const PRODUCTS: readonly ProductSpec[] = [
  {
    product: 'Credit reporting, credit repair services, or other personal consumer reports',
    group: 'credit',
    weight: 25,
    subProducts: [
      ['Credit reporting', 90],
      ['Other personal consumer report', 6],
      ['Credit repair services', 4],
    ],
    companies: [
      'Keystone Credit Data, Inc.',
      'Meridian Consumer Reporting LLC',
      'Allpoint Credit Information Services',
    ],
    subjects: [
      'my credit report',
      'the information on my credit report',
      'my credit file',
      'a credit bureau and its handling of my dispute',
      'the inquiries on my credit report',
    ],
    issues: [
      {
        issue: 'Incorrect information on your report',
        weight: 50,
        subIssues: [
          'Information belongs to someone else',
          'Account status incorrect',
          'Account information incorrect',
          'Personal information incorrect',
          'Old information reappears or never goes away',
        ],
        lines: [
          'I found incorrect information on my credit report that needs to be corrected.',
          'The account status on my credit report is wrong, and it is hurting my credit score.',
          'Information that belongs to someone else is showing up on my credit report.',
        ],
      },
      {
        issue: "Problem with a credit reporting company's investigation into an existing problem",
        weight: 30,
        subIssues: [
          'Their investigation did not fix an error on your report',
          'Investigation took more than 30 days',
          'Was not notified of investigation status or results',
        ],
        lines: [
          'I filed a dispute with the credit bureau, and their investigation did not fix the error.',
          'The bureau never told me the results of its investigation into my dispute.',
        ],
      },
      {
        issue: 'Improper use of your report',
        weight: 15,
        subIssues: [
          "Credit inquiries on your report that you don't recognize",
          'Reporting company used your report improperly',
        ],
        lines: [
          'There are hard inquiries on my credit report that I do not recognize and never authorized.',
          'A company pulled my credit report without a permissible purpose.',
        ],
      },
      {
        issue: 'Unable to get your credit report or credit score',
        weight: 5,
        subIssues: [
          'Other problem getting your report or credit score',
          'Problem getting your free annual credit report',
        ],
        lines: ['I have been unable to get a copy of my credit report or my credit score from the bureau.'],
      },
    ],
    sentences: [
      'There are several hard inquiries on my report from companies I never applied to.',
      'Because I never applied for credit with these companies, the inquiries should be removed.',
      'My personal information, including my address and my employer, is listed incorrectly on my credit file.',
      'The report shows a late payment in @date even though I have always paid on time.',
      'One of the tradelines on my report shows a balance and a status that are both wrong.',
      'The credit bureau mixed my file with another consumer who has a similar name.',
      'I tried to get a copy of my credit report online, but the website said it could not verify my identity.',
      'I placed a fraud alert and a security freeze on my file, yet new inquiries keep appearing.',
      'The tradeline reports the account as charged off, but it was paid in full and closed.',
      'It has been more than 30 days since my dispute, and the bureau has not completed its investigation.',
      'My credit score is much lower at this bureau than at the other two because of this error.',
      'The bureau reinserted the item after deleting it and never sent me a notice.',
      'I have a letter from the creditor confirming that the account was reported in error, and the bureau ignores it.',
      'The report lists an old address in a state where I have never lived.',
      'I paid a credit repair company @fee a month, and they did nothing to fix my credit report.',
      'My credit report still shows an account that was included in my bankruptcy as open with a balance.',
      'The item is more than seven years old and should have dropped off my report.',
      'The bureau lists a name and a Social Security number on my file that are not mine.',
      'The credit reporting agency refuses to add my consumer statement to my report.',
    ],
  },
  {
    product: 'Debt collection',
    group: 'credit',
    weight: 17,
    subProducts: [
      ['Other debt', 25],
      ['I do not know', 18],
      ['Credit card debt', 16],
      ['Medical debt', 15],
      ['Telecommunications debt', 8],
      ['Rental debt', 6],
      ['Payday loan debt', 5],
      ['Auto debt', 4],
      ['Federal student loan debt', 3],
    ],
    companies: [
      'Redwood Recovery Group, Inc.',
      'Fairhaven Collection Services',
      'Lakeshore Portfolio Associates LLC',
      'Tri-County Receivables Management',
    ],
    subjects: [
      'a debt collector',
      'a collection agency',
      'a debt that is being collected from me',
      'the collection calls I keep receiving',
    ],
    issues: [
      {
        issue: 'Attempts to collect debt not owed',
        weight: 45,
        subIssues: ['Debt is not yours', 'Debt was paid', 'Debt was result of identity theft'],
        lines: [
          'A collection agency is trying to collect a debt that I do not owe.',
          'This collector is attempting to collect a debt that was already paid.',
        ],
      },
      {
        issue: 'Written notification about debt',
        weight: 20,
        subIssues: [
          "Didn't receive enough information to verify debt",
          "Didn't receive notice of right to dispute",
        ],
        lines: ['The collector never sent me written notice of the debt or of my right to dispute it.'],
      },
      {
        issue: 'Communication tactics',
        weight: 15,
        subIssues: ['Frequent or repeated calls', 'Used obscene, profane, or other abusive language'],
        lines: ['The debt collector keeps calling me over and over about a debt.'],
      },
      {
        issue: 'False statements or representation',
        weight: 10,
        subIssues: [
          'Attempted to collect wrong amount',
          'Impersonated attorney, law enforcement, or government official',
        ],
        lines: ['The collector is demanding more than I owe and misrepresented the amount of the debt.'],
      },
      {
        issue: 'Took or threatened to take negative or legal action',
        weight: 10,
        subIssues: [
          'Threatened to sue you for very old debt',
          'Threatened or suggested your credit would be damaged',
        ],
        lines: ['The debt collector threatened legal action against me over a debt.'],
      },
    ],
    sentences: [
      'A debt collector has been calling my phone several times a day, including at work.',
      'The collector called my relatives and told them about the debt.',
      'I sent a debt validation letter within 30 days, and the collector never provided any documents.',
      'The collector would not tell me the name of the original creditor or the amount of the original debt.',
      'They threatened to sue me and garnish my wages if I did not pay @amt by the end of the week.',
      'The debt is more than [six|seven|eight] years old and past the statute of limitations.',
      'The amount they want includes collection fees that were never part of the original agreement.',
      'This is a medical debt that should have been paid by my insurance.',
      'I already paid this debt in full to the original creditor, and I have the receipt.',
      'The debt was sold to another agency, and now two collectors are trying to collect the same debt.',
      'The collector was rude and used abusive language when I asked for proof of the debt.',
      'I received a collection letter on @date for an old utility bill I closed years ago.',
      'They keep calling even after I told them in writing to stop contacting me.',
      'The collector said that paying would remove the collection from my credit report, but it is still there.',
      'The debt seems to come from an old apartment lease, but I moved out and left the unit in good condition.',
      'I asked them for the signed contract and an itemized statement of the debt.',
      'The voicemail they left did not identify the caller as a debt collector.',
      'They are collecting on a phone bill from a carrier I never had service with.',
      'The collection agency offered a settlement of @amt and then refused to honor it.',
    ],
  },
  {
    product: 'Checking or savings account',
    group: 'banking',
    weight: 14,
    subProducts: [
      ['Checking account', 78],
      ['Savings account', 12],
      ['Other banking product or service', 7],
      ['CD (Certificate of Deposit)', 3],
    ],
    companies: [
      'Harborview Bank, N.A.',
      'First Prairie National Bank',
      'Bluewater Savings Bank',
      'Granite Trust Financial',
    ],
    subjects: ['my checking account', 'my savings account', 'my bank account', 'my bank and a deposit'],
    issues: [
      {
        issue: 'Managing an account',
        weight: 55,
        subIssues: [
          'Deposits and withdrawals',
          'Problem using a debit or ATM card',
          'Banking errors',
          'Fee problem',
        ],
        lines: [
          'I am having a problem managing my checking account at this bank.',
          'There is an error with the deposits and withdrawals on my bank account.',
        ],
      },
      {
        issue: 'Problem caused by your funds being low',
        weight: 15,
        subIssues: ['Overdrafts and overdraft fees', 'Non-sufficient funds and associated fees'],
        lines: ['The bank charged me excessive overdraft fees when my balance was low.'],
      },
      {
        issue: 'Closing an account',
        weight: 15,
        subIssues: [
          'Company closed your account',
          'Funds not received from closed account',
          "Can't close your account",
        ],
        lines: ['The bank closed my checking account and is still holding my money.'],
      },
      {
        issue: 'Opening an account',
        weight: 8,
        subIssues: ['Account opened as a result of fraud', "Didn't receive terms that were advertised"],
        lines: ['Someone opened a bank account in my name without my knowledge.'],
      },
      {
        issue: 'Problem with a lender or other company charging your account',
        weight: 7,
        subIssues: ['Transaction was not authorized', null],
        lines: ['There are unauthorized debits on my bank account that I never approved.'],
      },
    ],
    sentences: [
      'I deposited a check for @amt at the branch, and the bank placed a hold on the funds for @days days.',
      'The bank charged me overdraft fees of @fee each on debit card purchases that were approved while I had money in my account.',
      'They reordered my debit card transactions so that more overdraft fees would be charged.',
      'My direct deposit from my employer did not post to my checking account on payday.',
      'I tried to withdraw money from my savings account and was told the account was frozen.',
      'Someone withdrew @amt from my checking account at an ATM I have never used.',
      'The ATM did not dispense the cash, but the withdrawal was still taken from my account.',
      'I opened a checking account for a promotional bonus, and the bank refused to pay it after I met every requirement.',
      'A monthly maintenance fee was charged even though I kept the minimum balance.',
      "When I closed my account, the bank said it would mail a cashier's check for the balance, which I never received.",
      'The teller told me the mobile deposit was rejected, but the funds were never returned to me.',
      'Someone opened a savings account in my name using my Social Security number.',
      'I sent a wire transfer of @amt from my account, and the money never arrived.',
      'My paycheck was deposited, but the bank used it to cover a negative balance made of fees I had disputed.',
      'The interest rate on my savings account was lowered without any notice.',
      'I placed a stop payment on a check, and the bank paid it anyway.',
      'My debit card was declined at the grocery store even though my checking account had plenty of money.',
      'The bank put my account under review, and I could not pay my rent or buy groceries for @days days.',
      'The teller at the XXXX branch cashed a check against my account with a forged signature.',
    ],
  },
  {
    product: 'Credit card or prepaid card',
    group: 'banking',
    weight: 13,
    subProducts: [
      ['General-purpose credit card or charge card', 75],
      ['Store credit card', 15],
      ['General-purpose prepaid card', 5],
      ['Gift card', 3],
      ['Government benefit card', 2],
    ],
    companies: [
      'Northstar Card Services',
      'Harborview Bank, N.A.',
      'Crestline Financial Corp.',
      'Granite Trust Financial',
    ],
    subjects: [
      'my credit card',
      'my credit card account',
      'a charge on my credit card',
      'my credit card company',
      'my prepaid card',
    ],
    issues: [
      {
        issue: 'Problem with a purchase shown on your statement',
        weight: 40,
        subIssues: [
          "Credit card company isn't resolving a dispute about a purchase on your statement",
          'Card was charged for something you did not purchase with the card',
        ],
        lines: [
          'My credit card company is not resolving a dispute about a purchase on my statement.',
          'My card was charged for purchases that I did not make.',
        ],
      },
      {
        issue: 'Fees or interest',
        weight: 25,
        subIssues: ['Problem with fees', 'Charged too much interest'],
        lines: ['My credit card company charged me fees and interest that I should not owe.'],
      },
      {
        issue: 'Getting a credit card',
        weight: 12,
        subIssues: ['Card opened without my consent or knowledge', 'Sent card you never applied for'],
        lines: ['A credit card was opened in my name without my consent.'],
      },
      {
        issue: 'Closing your account',
        weight: 10,
        subIssues: ['Company closed your account', "Can't close your account"],
        lines: ['The card issuer closed my credit card account without warning.'],
      },
      {
        issue: 'Other features, terms, or problems',
        weight: 13,
        subIssues: ['Credit limit changed', 'Problem with rewards from credit card', 'Other problem'],
        lines: ['My credit card company changed the terms of my card without telling me.'],
      },
    ],
    sentences: [
      'I disputed a charge of @amt with my credit card company because the merchant never delivered the item.',
      'The card issuer raised my interest rate to [24.99|26.99|29.99] percent without any warning.',
      'My credit limit was cut in half even though I have never missed a payment on the card.',
      'I was charged a late fee even though my card payment was made before the due date.',
      'An annual fee of @fee appeared on my statement for a card that was advertised with no annual fee.',
      'I made a purchase with my card and was charged twice for the same transaction.',
      'The rewards points I earned on my card disappeared when the card was closed.',
      'I paid my statement balance in full and was still charged interest on the card.',
      'A balance transfer was supposed to have a promotional rate, but interest was charged from the first statement.',
      'Someone used my credit card number to make purchases online.',
      'The card company opened a second credit card in my name that I never applied for.',
      'The chargeback was denied because the merchant sent a receipt that did not have my signature.',
      'My prepaid card was loaded with @amt, and the funds disappeared before I could use the card.',
      'The store card was approved at the register, and I later found out it had a much higher interest rate.',
      'They applied my card payment to the balance with the lowest interest rate instead of the highest.',
      'The minimum payment on my card jumped after a cash advance fee was added.',
      'The airline canceled my flight, and the card issuer still refuses to credit the charge back to my card.',
      'My card was declined at a restaurant because the issuer flagged it for fraud without telling me.',
    ],
  },
  {
    product: 'Mortgage',
    group: 'lending',
    weight: 14,
    subProducts: [
      ['Conventional home mortgage', 55],
      ['FHA mortgage', 20],
      ['VA mortgage', 8],
      ['Home equity loan or line of credit (HELOC)', 9],
      ['Other type of mortgage', 6],
      ['Reverse mortgage', 2],
    ],
    companies: ['Pinecrest Home Lending', 'Harborview Bank, N.A.', 'Oakmont Mortgage Servicing LLC'],
    subjects: ['my mortgage', 'my mortgage servicer', 'the escrow account on my mortgage', 'my home loan'],
    issues: [
      {
        issue: 'Trouble during payment process',
        weight: 45,
        subIssues: [null],
        lines: ['I am having trouble with the payment process on my mortgage.'],
      },
      {
        issue: 'Struggling to pay mortgage',
        weight: 25,
        subIssues: [null],
        lines: ['I am struggling to pay my mortgage, and the servicer will not help me keep my home.'],
      },
      {
        issue: 'Applying for a mortgage or refinancing an existing mortgage',
        weight: 15,
        subIssues: [null],
        lines: ['I ran into serious problems when I applied to refinance my mortgage.'],
      },
      {
        issue: 'Closing on a mortgage',
        weight: 15,
        subIssues: [null],
        lines: ['There were problems with the lender when I was closing on my mortgage.'],
      },
    ],
    sentences: [
      'My mortgage servicer increased my escrow payment because of a shortage, but my property taxes did not change.',
      'I applied for a loan modification and submitted every document they asked for, several times.',
      'The servicer started foreclosure while my modification application was still under review.',
      'The escrow account paid my homeowners insurance twice and then charged me for the shortage.',
      'I refinanced my mortgage, and the old servicer has not refunded the escrow balance of @amt.',
      'The lender charged me for force-placed insurance even though I sent proof of my homeowners policy.',
      'The closing costs on my mortgage were much higher than the amounts on the loan estimate.',
      'My mortgage was in forbearance during the pandemic, and now they want the missed payments in one lump sum.',
      'The servicer refused to remove mortgage insurance even though I have more than 20 percent equity in my home.',
      'I received a notice of default on my home even though my mortgage payment was made on time.',
      'I made all three trial payments, but the permanent modification was denied.',
      'The appraisal came in low, and the lender changed the rate on my home loan the day before closing.',
      'My servicer paid the property taxes late, and the county added penalties to my tax bill.',
      'Our house was scheduled for a foreclosure sale, and nobody at the servicer would return our calls.',
      'The lender let my rate lock expire, and the interest rate on my mortgage went up before closing.',
      'The servicer charged property inspection fees and attorney fees to my mortgage.',
      'My home equity line of credit was frozen without an explanation.',
      'The original mortgage was for @big, and the servicer now claims I owe more than that.',
      'The servicer returned my mortgage payment as insufficient because it did not include a fee I disputed.',
    ],
  },
  {
    product: 'Student loan',
    group: 'lending',
    weight: 7,
    subProducts: [
      ['Federal student loan servicing', 75],
      ['Private student loan', 25],
    ],
    companies: ['Beacon Education Loan Servicing', 'Crossroads Student Finance', 'Harborview Bank, N.A.'],
    subjects: [
      'my student loans',
      'my student loan servicer',
      'my federal student loans',
      'my private student loan',
    ],
    issues: [
      {
        issue: 'Dealing with your lender or servicer',
        weight: 65,
        subIssues: [
          'Trouble with how payments are being handled',
          'Received bad information about your loan',
          'Problem with customer service',
          "Don't agree with the fees charged",
        ],
        lines: ['I am having serious problems dealing with my student loan servicer.'],
      },
      {
        issue: 'Struggling to repay your loan',
        weight: 35,
        subIssues: ['Problem lowering your monthly payments', "Can't temporarily delay making payments"],
        lines: ['I am struggling to repay my student loans and cannot get my monthly payment lowered.'],
      },
    ],
    sentences: [
      'My federal student loans were transferred to a new servicer, and my income-driven repayment plan was lost.',
      'I have worked for a nonprofit for over ten years, and my application for Public Service Loan Forgiveness was denied.',
      'The servicer counted only a few of my qualifying payments toward loan forgiveness.',
      'They put my student loans in forbearance without asking me, and the interest was added to the principal.',
      'My private student loan has a cosigner, and the lender will not release my [mother|father|aunt] from the loan.',
      'I am enrolled in school, but my student loans were not placed in an in-school deferment.',
      'The servicer told me my loans would be discharged and then sent a bill for the full balance.',
      'My income-driven repayment amount was recalculated from the wrong income.',
      'The student loan servicer shows a balance online that is different from the one on my statement.',
      'I was told to consolidate my student loans, which reset my count of qualifying payments for forgiveness.',
      'My tax refund was taken to pay a defaulted student loan that I was already making payments on.',
      'My school closed before I finished my program, and I applied for a discharge of my student loans.',
      'The servicer capitalized the unpaid interest at the end of my deferment.',
      'I borrowed @big for school, and after years of payments the loan balance is higher than when I graduated.',
      'The servicer processed my forgiveness application as a forbearance request.',
    ],
  },
  {
    product: 'Payday loan, title loan, or personal loan',
    group: 'lending',
    weight: 10,
    subProducts: [
      ['Installment loan', 45],
      ['Payday loan', 25],
      ['Personal line of credit', 15],
      ['Title loan', 12],
      ['Pawn loan', 3],
    ],
    companies: [
      'Sunbelt Installment Lending',
      'Ridgeway Title Loans, Inc.',
      'Clearwater Personal Finance LLC',
    ],
    subjects: ['a payday loan', 'my personal loan', 'an online installment loan', 'a title loan on my car'],
    issues: [
      {
        issue: "Charged fees or interest you didn't expect",
        weight: 35,
        subIssues: [null],
        lines: ['The lender charged fees and interest on my loan that I did not expect.'],
      },
      {
        issue: 'Struggling to pay your loan',
        weight: 25,
        subIssues: ['Problem lowering your monthly payments', "Can't temporarily delay making payments"],
        lines: ['I am struggling to pay this loan, and the lender will not lower my payments.'],
      },
      {
        issue: 'Problem when making payments',
        weight: 20,
        subIssues: ['Problem with the payment being processed', null],
        lines: ['The lender did not process my loan payments correctly.'],
      },
      {
        issue: 'Getting the loan',
        weight: 10,
        subIssues: ['Money was not received', 'Confusing or misleading advertising about the loan'],
        lines: ['I had a problem getting the loan that the lender advertised.'],
      },
      {
        issue: 'Problem with the payoff process at the end of the loan',
        weight: 10,
        subIssues: [null],
        lines: ['I tried to pay off my loan, and the lender made the payoff process impossible.'],
      },
    ],
    sentences: [
      'I took out a payday loan of @amt and have already paid back more than twice that amount.',
      'The lender kept drafting loan payments after I revoked my authorization.',
      'The installment loan has an interest rate of more than [200|300|400] percent.',
      'The title loan company threatened to repossess my car over a single late payment.',
      'Every time I make a payment, the loan is rolled over and a new finance charge is added.',
      'I was never told about the origination fee that was taken out of my loan proceeds.',
      'The online lender is not licensed in my state, so the loan should not be valid.',
      'The lender keeps calling my employer and my references about the loan.',
      'I asked for a payoff letter so that I could close the loan, and the lender never sent it.',
      'The personal loan was approved for less than I applied for, but the fees were based on the full amount.',
      'The lender still holds my car title even though the title loan was paid in full.',
      'The lender sent the loan proceeds to an account I had already closed.',
      'I borrowed @amt for a car repair, and the payments are now more than my rent.',
      'The lender added an insurance product to my personal loan that I never asked for.',
    ],
  },
];

/** Probability that a body sentence is taken from a pool of another group (topic overlap). */
export const CROSS_GROUP_RATE = 0.08;

/**
 * Narrative length in words, as quantiles at 0, 10%, ... 100%: right-skewed with a median near 110,
 * roughly the shape of real CFPB narratives (which run longer: median ~130, long tail past 500).
 */
export const LENGTH_QUANTILES: readonly number[] = [30, 52, 68, 82, 96, 109, 118, 127, 138, 156, 235];
